"""Gas of every ticket operation, in both builds of the contracts, beside an OpenZeppelin 5.4
ERC721 measured in the same run.

    .venv/bin/python scripts/bench_gas.py [--json PATH] [--write-snapshot]

Starts its own Ganache, deploys the platform (the shanghai build) and
``contracts/test/BaselineERC721.sol`` (a plain OpenZeppelin ERC721 with a ``_mint`` loop), and
measures transaction gas (receipt ``gasUsed``). Then starts an Anvil (hardfork cancun) and
measures the same operations there twice: the shanghai build again (the same-run control: it
must cost what it cost on Ganache, so any difference below is the build's, not the node's) and
the cancun build (chain.evm: the reentrancy lock in transient storage, MCOPY), whose figures
carry the suffix ``_cancun``. The keys without a suffix are the shanghai build on Ganache, as
they always were:

- ``mint_batch100_per_ticket``: marginal gas of a ticket in a batch of 100 to one holder, with a
  commitment each: (gas(100) - gas(1)) / 99. Target <= 3,000.
- ``mint_batch100_distinct_per_ticket``: the same with 100 different new holders (one order each,
  sequential order ids as the bridge sends them). Target <= the same run's
  ``oz_mint_distinct_per_token`` (OpenZeppelin's ``_mint`` of one token to each new holder).
- ``resale_buy_worst``: the most expensive resale buy over the 1st, 50th and 100th ticket of a
  batch of 100, bought by a holder with no tickets yet, royalty paid, commitment rotated.
  Target <= 100,000.
- ``resale_buy_signed_order_worst``: the same through an EIP-712 signed order (never listed), the
  buyer sending the order's terms and its EIP-2098 compact signature as the typed client does.
  Target <= 100,000 (issue 14). A card ticket's first sale: its face value is held.
- ``purchase_single``, ``list``, ``cancel_listing``, ``refund_claim``, ``publish_root``,
  ``deploy_event`` (the factory clone) - each beside the baseline's nearest operation.
- The same money paths in an event that settles in the 6-decimal test stablecoin
  (``contracts/dev/TestStablecoin.sol``), keys ending in ``_token``: ``purchase_single_token``
  (allowance given beforehand), ``purchase_single_token_permit`` (an EIP-2612 permit in the same
  transaction, ``permitAndCall``), ``resale_buy_worst_token``,
  ``resale_buy_signed_order_worst_token`` (both with allowance) and ``refund_claim_token``.

The committed snapshot is ``gas-snapshot.json`` (both builds); ``tests/gas/test_gas_snapshot.py``
fails when a figure gets worse than it by more than 2 %. ``--write-snapshot`` refreshes it, the
baseline's figures (``gas-baseline.json``) and the README's table (``scripts/gas_table.py``).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eth_account import Account
from eth_utils.address import to_checksum_address
from rich.console import Console
from rich.table import Table
from web3 import Web3

from chain.abi import artifact as load_artifact
from chain.anvil import AnvilRunner
from chain.deploy import TEST_STABLECOIN, deploy_contract, deploy_platform
from chain.erc20 import Erc20Client
from chain.evm import DEFAULT_EVM_VERSION, EVM_VERSIONS
from chain.ganache import GanacheRunner, free_port
from chain.keys import Signer
from chain.nodes import dev_node
from chain.sender import NonceManager, TransactionSender
from chain.ticket_event import TicketEventClient
from chain.ticket_gate import TicketGateClient
from chain.types import FIELD_MODULUS, EventParams, MintRun, Tier
from fairgate.settings import Settings
from scripts import gas_table
from scripts.gas_table import TARGETS

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "gas-snapshot.json"
ETH = 10**18
# metric -> the baseline operation it is compared with
BASELINE_OF = {
    "mint_batch100_per_ticket": "oz_mint_loop_per_token",
    "mint_batch100_distinct_per_ticket": "oz_mint_distinct_per_token",
    "resale_buy_worst": "oz_transfer_with_payment",
    "resale_buy_signed_order_worst": "oz_transfer_with_payment",
    "purchase_single": "oz_mint_single_new_owner",
    "deploy_event": "oz_deploy",
}


# Commitments, order ids and new accounts come from one seeded generator, reseeded for every
# measurement: a zero byte of calldata costs 4 gas and any other 16, so random inputs moved the
# figures by tens of gas between runs; seeded, two builds (or two nodes) see the same inputs.
SEED = 13
_rng = random.Random(SEED)


def _commitment() -> int:
    return _rng.randrange(1, FIELD_MODULUS)


def _token_bytes(n: int) -> bytes:
    return _rng.randbytes(n)


def _new_account() -> Any:
    """A new account (no tickets, cold storage), the same in every measurement."""
    return Account.from_key(_rng.randbytes(32))


def _today(w3: Web3) -> int:
    """The start of the node's current day (UTC): the times the measurements put in calldata (the
    schedule, order deadlines) are the same in every run of a day, so their zero bytes are too."""
    timestamp = int(w3.eth.get_block("latest")["timestamp"])
    return timestamp - timestamp % 86_400


def _next_second(w3: Web3) -> None:
    """Move the clock one second on: a refund claim's burn writes ``_holdersChangedAt``, in the slot
    of the shanghai build's lock bit, and when the last holder change fell in the same second (a
    quick run: both nodes give consecutive blocks the same timestamp) the slot ended the claim as
    it began and earned the 2,800-gas restore refund. Claims come later than that in life."""
    dev_node(w3).increase_time(1)


def _fresh_sender(w3: Web3, funder: TransactionSender) -> TransactionSender:
    """A brand-new account (no tickets, cold storage), funded for gas."""
    account = _new_account()
    funder.send_and_wait({"to": account.address, "value": ETH})
    _SENDERS.add(account.address)
    return TransactionSender(w3, Signer.from_account(account, "bench"))


_SENDERS: set[str] = set()  # every account the measurements sent from (see _rewind)


def _rewind(w3: Web3, snapshot: str, signers: list[Signer]) -> str:
    """Take the chain back to ``snapshot`` (a new snapshot of it is returned) and have every
    account the measurements sent from read its nonce from the node again."""
    node = dev_node(w3)
    node.revert(snapshot)
    chain = TransactionSender(w3, signers[0]).chain
    for address in _SENDERS | {s.address for s in signers}:
        NonceManager.reset(chain, address)
    return node.snapshot()


def measure(
    w3: Web3,
    signers: list[Signer],
    *,
    evm_version: str = DEFAULT_EVM_VERSION,
    baseline: bool = True,
) -> dict[str, dict[str, int]]:
    """Run every measurement with the ``evm_version`` build of the contracts (the node must run
    it); returns {"ours": {...}, "baseline": {...}} (baseline empty when not asked for)."""
    with tempfile.TemporaryDirectory(prefix="bench-gas-") as home:
        settings = Settings(env="test", home=Path(home), evm_version=evm_version)  # type: ignore[arg-type]
        return _measure(w3, signers, settings, baseline)


def _measure(
    w3: Web3, signers: list[Signer], settings: Settings, with_baseline: bool
) -> dict[str, dict[str, int]]:
    _rng.seed(SEED)
    platform, organizer, minter, holder = (TransactionSender(w3, s) for s in signers[:4])
    deployment = deploy_platform(platform, settings)
    assert deployment.evm_version == settings.evm_version
    factory = deployment.factory_client(w3, organizer)
    now = _today(w3)
    tier = Tier(ETH // 20, 100_000, 11_000, 500, now, now + 30 * 86_400)
    params = EventParams(
        name="Bench",
        symbol="BENCH",
        organizer=organizer.address,
        starts_at=now + 31 * 86_400,
        ends_at=now + 32 * 86_400,
        tiers=(tier, tier),
        minter=minter.address,
        gate=organizer.address,
    )
    event, created = factory.create_event(params)
    mint = event.with_sender(minter)
    assert isinstance(mint, TicketEventClient)
    ours: dict[str, int] = {"deploy_event": created.gas_used}

    def mint_run(count: int, to: str) -> tuple[int, list[int]]:
        ref = _token_bytes(32)
        result = mint.mint_batch(0, [MintRun(to, tuple(_commitment() for _ in range(count)), ref)])
        return result.gas_used, list(TicketEventClient.issued_runs(result)[0].token_ids)

    # warm the holder's balance slot and the bitmap word, as in steady state
    mint_run(1, holder.address)
    one, _ = mint_run(1, holder.address)
    hundred, batch = mint_run(100, holder.address)
    ours["mint_batch100_per_ticket"] = round((hundred - one) / 99)

    # 101 orders of one ticket to new holders, with sequential order ids as the bridge uses them
    runs = [
        MintRun(_new_account().address, (_commitment(),), (1_000 + i).to_bytes(32, "big"))
        for i in range(101)
    ]
    distinct_one = mint.mint_batch(0, runs[:1]).gas_used
    distinct_all = mint.mint_batch(0, runs[1:]).gas_used
    ours["mint_batch100_distinct_per_ticket"] = round((distinct_all - distinct_one) / 99)

    seller = event.with_sender(holder)
    assert isinstance(seller, TicketEventClient)
    cap = event.resale_cap(0)
    buys, lists = [], []
    for token in (batch[0], batch[49], batch[99]):
        lists.append(seller.list(token, cap).gas_used)
        buyer = event.with_sender(_fresh_sender(w3, platform))
        assert isinstance(buyer, TicketEventClient)
        buys.append(buyer.buy(token, _commitment(), price=cap).gas_used)
    ours["resale_buy_worst"] = max(buys)
    ours["list"] = max(lists)
    seller.list(batch[10], cap)
    ours["cancel_listing"] = seller.cancel_listing(batch[10]).gas_used

    order_buys = []
    deadline = now + 86_400
    for token in (batch[20], batch[70], batch[98]):
        signed = seller.sign_order(signers[3], token, cap, deadline=deadline)
        buyer = event.with_sender(_fresh_sender(w3, platform))
        assert isinstance(buyer, TicketEventClient)
        order_buys.append(buyer.buy_with_order(signed, _commitment()).gas_used)
    ours["resale_buy_signed_order_worst"] = max(order_buys)

    fan = event.with_sender(_fresh_sender(w3, platform))
    assert isinstance(fan, TicketEventClient)
    purchased = fan.purchase(1, [_commitment()])
    ours["purchase_single"] = purchased.gas_used
    ours["publish_root"] = TicketGateClient.for_event(event).publish_root(_commitment()).gas_used
    event.cancel()
    token = TicketEventClient.issued_runs(purchased)[0].token_ids[0]
    _next_second(w3)
    ours["refund_claim"] = fan.claim_refund([token]).gas_used

    ours.update(
        _measure_token_paths(w3, platform, factory, params, signers[3], deployment.evm_version)
    )
    baseline = _measure_baseline(w3, platform) if with_baseline else {}
    return {"ours": ours, "baseline": baseline}


def _measure_token_paths(
    w3: Web3,
    platform: TransactionSender,
    factory: Any,
    params: EventParams,
    holder: Signer,
    evm_version: str,
) -> dict[str, int]:
    """The money paths of an event in the test stablecoin (6 decimals): the same tickets and
    buyers as above (new holders with a balance of the token), paying with an allowance given
    beforehand or with a permit in the same transaction."""
    coin_address, _, _ = deploy_contract(
        platform, load_artifact("TestStablecoin", evm_version=evm_version), *TEST_STABLECOIN
    )
    face = 50 * 10**6
    tier = replace(params.tiers[0], face_value=face)
    event, _ = factory.create_event(replace(params, currency=coin_address, tiers=(tier, tier)))
    coin = Erc20Client(w3, coin_address, platform)

    def buyer(approve: bool) -> TicketEventClient:
        sender = _fresh_sender(w3, platform)
        coin.mint(sender.address, 1_000 * face)
        if approve:
            Erc20Client(w3, coin_address, sender).approve(event.address, 2**255)
        client = event.with_sender(sender)
        assert isinstance(client, TicketEventClient)
        return client

    out: dict[str, int] = {}
    fan = buyer(approve=True)
    purchased = fan.purchase(1, [_commitment()])
    out["purchase_single_token"] = purchased.gas_used
    out["purchase_single_token_permit"] = buyer(approve=False).purchase(1, [_commitment()]).gas_used

    # a batch by card to one holder, resold as in the ETH measurements above
    commitments = tuple(_commitment() for _ in range(100))
    result = event.mint_batch(0, [MintRun(holder.address, commitments, _token_bytes(32))])
    batch = list(TicketEventClient.issued_runs(result)[0].token_ids)
    cap = event.resale_cap(0)
    seller = event.with_sender(TransactionSender(w3, holder))
    assert isinstance(seller, TicketEventClient)
    buys = []
    for token in (batch[0], batch[49], batch[99]):
        seller.list(token, cap)
        buys.append(buyer(approve=True).buy(token, _commitment(), price=cap).gas_used)
    out["resale_buy_worst_token"] = max(buys)
    order_buys = []
    deadline = _today(w3) + 86_400
    for token in (batch[20], batch[70], batch[98]):
        signed = seller.sign_order(holder, token, cap, deadline=deadline)
        order_buys.append(buyer(approve=True).buy_with_order(signed, _commitment()).gas_used)
    out["resale_buy_signed_order_worst_token"] = max(order_buys)

    event.cancel()
    token = TicketEventClient.issued_runs(purchased)[0].token_ids[0]
    _next_second(w3)
    out["refund_claim_token"] = fan.claim_refund([token]).gas_used
    return out


def _measure_baseline(w3: Web3, sender: TransactionSender) -> dict[str, int]:
    artifact = load_artifact("BaselineERC721")
    address, deploy_gas, _ = deploy_contract(sender, artifact)
    contract = w3.eth.contract(address=to_checksum_address(address), abi=artifact.abi)

    def send(fn: Any, value: int = 0, who: TransactionSender = sender) -> int:
        tx = {"to": address, "data": fn._encode_transaction_data(), "value": value}
        return int(who.send_and_wait(tx)["gasUsed"])

    holder = sender.address
    send(contract.functions.mintBatch(holder, 1))
    one = send(contract.functions.mintBatch(holder, 1))
    hundred = send(contract.functions.mintBatch(holder, 100))
    distinct = [_new_account().address for _ in range(101)]
    d_one = send(contract.functions.mintEach(distinct[:1]))
    d_all = send(contract.functions.mintEach(distinct[1:]))
    new_owner = send(contract.functions.mintEach([_new_account().address]))
    # a resale-like move of the 100th token of the batch: buyer pays, token moves, seller is paid
    buyer = _fresh_sender(w3, sender)
    transfer = send(contract.functions.buyFrom(holder, 101), value=ETH // 20, who=buyer)
    return {
        "oz_deploy": deploy_gas,
        "oz_mint_loop_per_token": round((hundred - one) / 99),
        "oz_mint_distinct_per_token": round((d_all - d_one) / 99),
        "oz_mint_single_new_owner": new_owner,
        "oz_transfer_with_payment": transfer,
    }


#: the suffix of the cancun build's figures (measured on Anvil) in the JSON and the snapshot
CANCUN = "_cancun"


def cancun_key(metric: str) -> str:
    return metric + CANCUN


def measure_builds(
    ganache: tuple[Web3, list[Signer]], anvil: tuple[Web3, list[Signer]]
) -> dict[str, dict[str, int]]:
    """Both builds: {"ours": the shanghai build on Ganache (the issue's keys) and the cancun build
    on Anvil (the same keys + ``_cancun``), "baseline": OpenZeppelin on Ganache, "control": the
    shanghai build on Anvil (equal to Ganache's figures when the two nodes price alike)}."""
    figures = measure(*ganache, evm_version=DEFAULT_EVM_VERSION)
    # each build from the same Anvil state: the same addresses, so the same signed bytes
    start = dev_node(anvil[0]).snapshot()
    control = measure(*anvil, evm_version=DEFAULT_EVM_VERSION, baseline=False)["ours"]
    for evm in EVM_VERSIONS[1:]:
        assert evm == CANCUN[1:], "one suffix per build: add it here"
        start = _rewind(anvil[0], start, anvil[1])
        cancun = measure(*anvil, evm_version=evm, baseline=False)["ours"]
        figures["ours"].update({cancun_key(m): v for m, v in cancun.items()})
    figures["control"] = control
    return figures


def table(figures: dict[str, dict[str, int]]) -> Table:
    out = Table(
        title="Gas per build: shanghai on Ganache 7.9.2 and, same run, on Anvil (control); "
        "cancun on Anvil; OpenZeppelin 5.4 ERC721 on Ganache"
    )
    columns = (
        "metric",
        "shanghai (Ganache)",
        "shanghai (Anvil)",
        "cancun (Anvil)",
        "cancun - shanghai",
        "target",
        "baseline",
        "baseline operation",
    )
    for column in columns:
        out.add_column(
            column, justify="left" if "metric" in column or "operation" in column else "right"
        )
    ours, control = figures["ours"], figures.get("control", {})
    for metric, value in ours.items():
        if metric.endswith(CANCUN):
            continue
        base_name = BASELINE_OF.get(metric, "")
        base = figures["baseline"].get(base_name)
        target = TARGETS.get(metric)
        cancun = ours.get(cancun_key(metric))
        same_node = control.get(metric, value)  # the delta compares the builds on one node
        delta = (
            ""
            if cancun is None
            else f"{cancun - same_node:+,} ({(cancun - same_node) / same_node:+.2%})"
        )
        out.add_row(
            metric,
            f"{value:,}",
            f"{control[metric]:,}" if metric in control else "",
            f"{cancun:,}" if cancun is not None else "",
            delta,
            f"<= {target:,}" if target else "",
            f"{base:,}" if base else "",
            base_name,
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--write-snapshot", action="store_true", help=f"refresh {SNAPSHOT.name}")
    args = parser.parse_args(argv)
    with GanacheRunner(free_port()) as ganache, AnvilRunner(free_port()) as anvil:
        nodes = []
        for node in (ganache, anvil):
            w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 60}))
            keys = node.accounts_with_keys()[:4]
            nodes.append((w3, [Signer.from_account(a, f"dev{i}") for i, a in enumerate(keys)]))
        figures = measure_builds(nodes[0], nodes[1])
    Console().print(table(figures))
    ours = figures["ours"]
    missed = [
        m
        for t_metric, t in TARGETS.items()
        for m in (t_metric, cancun_key(t_metric))
        if ours[m] > t
    ]
    # relative target (issue 14): one-ticket orders at most OpenZeppelin's _mint in the same run
    for metric in (
        "mint_batch100_distinct_per_ticket",
        cancun_key("mint_batch100_distinct_per_ticket"),
    ):
        if ours[metric] > figures["baseline"]["oz_mint_distinct_per_token"]:
            missed.append(metric)
    drift = sorted(m for m, v in figures["control"].items() if v != ours[m])
    if drift:
        Console().print(
            f"[yellow]Anvil and Ganache differ on the shanghai build:[/] {', '.join(drift)}"
        )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    if args.write_snapshot:
        SNAPSHOT.write_text(json.dumps(ours, indent=2, sort_keys=True) + "\n")
        gas_table.BASELINE.write_text(
            json.dumps(figures["baseline"], indent=2, sort_keys=True) + "\n"
        )
        gas_table.main([])  # the README's table follows the snapshot
    if missed:
        Console().print(f"[bold red]over target:[/] {', '.join(missed)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
