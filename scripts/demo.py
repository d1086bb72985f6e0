"""The Fairgate story on a local chain, step by step, with each transaction's gas.

    .venv/bin/python scripts/demo.py [--port N] [--keep-running]

Starts Ganache (deterministic accounts), deploys the platform, and plays the contract story of
the design: an organizer creates an event with two tiers, the bridge batch-mints card orders, a
fan buys with ETH, a listing above the cap is refused, a resale at the cap pays the royalty and
rotates the holder commitment, a gift, the resale window closes, and another event is cancelled
and refunded. Holder commitments are real Poseidon commitments of secrets made here, as a fan's
device would (zk.identity).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console
from rich.table import Table
from web3 import Web3

from chain.client import TxResult
from chain.compiler import compile_contracts
from chain.deploy import deploy_platform
from chain.devchain import increase_time, latest_timestamp
from chain.errors import error_class
from chain.ganache import GanacheRunner, free_port, port_is_free
from chain.keys import Signer
from chain.sender import TransactionSender
from chain.ticket_event import TicketEventClient
from chain.types import EventParams, MintRun, Tier
from fairgate.errors import ContractRevert, TicketError
from fairgate.settings import get_settings
from zk.identity import TicketSecret

ETH = 10**18
DAY = 86_400
console = Console(highlight=False)


@dataclass
class Cast:
    """Who plays whom: Ganache's deterministic accounts."""

    w3: Web3
    signers: list[Signer]
    senders: dict[str, TransactionSender] = field(default_factory=dict)
    roles: tuple[str, ...] = (
        "platform",
        "organizer",
        "bridge",
        "gate",
        "alice",
        "bob",
        "carol",
        "dave",
        "erin",
    )

    def __post_init__(self) -> None:
        for role, signer in zip(self.roles, self.signers, strict=False):
            self.senders[role] = TransactionSender(self.w3, signer)

    def address(self, role: str) -> str:
        return self.senders[role].address


@dataclass
class GasLog:
    rows: list[tuple[str, int, str]] = field(default_factory=list)

    def add(self, step: str, result: TxResult, note: str = "") -> None:
        self.rows.append((step, result.gas_used, note))

    def table(self) -> Table:
        table = Table(title="Gas per step")
        table.add_column("step")
        table.add_column("gas", justify="right")
        table.add_column("note")
        for step, gas, note in self.rows:
            table.add_row(step, f"{gas:,}", note)
        return table


def say(step: str, text: str) -> None:
    console.print(f"[bold cyan]{step}[/] {text}")


def eth(wei: int) -> str:
    return f"{wei / ETH:.4f} ETH"


def refused(action: Callable[[], Any], expected: str) -> ContractRevert:
    """Run an action that the contract must refuse with ``expected``; return the error."""
    try:
        action()
    except ContractRevert as exc:
        if not isinstance(exc, error_class(expected)):
            raise
        return exc
    raise SystemExit(f"the contract accepted what it must refuse ({expected})")


def new_secrets(count: int) -> list[TicketSecret]:
    return [TicketSecret.generate() for _ in range(count)]


def play(w3: Web3, signers: list[Signer]) -> GasLog:
    cast = Cast(w3, signers)
    gas = GasLog()
    s = cast.senders

    say("0.", "Compiling and deploying the platform (TicketEvent implementation + factory)")
    compile_contracts()
    deployment = deploy_platform(s["platform"])
    factory = deployment.factory_client(w3, s["organizer"])
    console.print(f"   factory {deployment.factory}, implementation {deployment.implementation}")

    now = latest_timestamp(w3)
    general = Tier(
        face_value=ETH // 20,
        supply=500,
        resale_cap_bps=11_000,
        royalty_bps=500,
        resale_opens_at=now,
        resale_closes_at=now + 2 * DAY,
    )
    vip = Tier(
        face_value=ETH // 5,
        supply=50,
        resale_cap_bps=10_000,
        royalty_bps=1_000,
        resale_opens_at=now,
        resale_closes_at=now + 2 * DAY,
    )
    say(
        "1.",
        "The organizer creates 'Night One' with two tiers: General 0.05 ETH (resale cap 110 %, "
        "royalty 5 %) and VIP 0.2 ETH (cap 100 %, royalty 10 %)",
    )
    show, created = factory.create_event(
        EventParams(
            name="Fairgate Live: Night One",
            symbol="NIGHT1",
            organizer=cast.address("organizer"),
            starts_at=now + 3 * DAY,
            ends_at=now + 3 * DAY + 6 * 3600,
            tiers=(general, vip),
            base_uri="ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi/",
            minter=cast.address("bridge"),
            gate=cast.address("gate"),
        )
    )
    gas.add("create event (clone)", created)
    console.print(f"   event contract {show.address}")

    say(
        "2.",
        "Alice pays two General tickets by card; the bridge mints them in one batch with three "
        "other paid orders (and one for a fan without a wallet, into custody)",
    )
    alice_secrets = new_secrets(2)
    others = [(cast.address(r), new_secrets(n)) for r, n in (("dave", 1), ("erin", 3), ("bob", 1))]
    runs = [
        MintRun(
            cast.address("alice"),
            tuple(x.commitment() for x in alice_secrets),
            b"order-alice".ljust(32, b"\0"),
        )
    ]
    runs += [
        MintRun(holder, tuple(x.commitment() for x in sec), f"order-{i}".encode().ljust(32, b"\0"))
        for i, (holder, sec) in enumerate(others)
    ]
    runs.append(
        MintRun(
            cast.address("bridge"),
            tuple(x.commitment() for x in new_secrets(1)),
            b"order-custody".ljust(32, b"\0"),
        )
    )
    bridge_show = show.with_sender(s["bridge"])
    assert isinstance(bridge_show, TicketEventClient)
    minted = bridge_show.mint_batch(0, runs)
    issued = TicketEventClient.issued_runs(minted)
    gas.add("batch mint, 5 orders / 8 tickets", minted, f"{minted.gas_used // 8:,} per ticket")
    alice_tokens = issued[0].token_ids
    console.print(
        f"   Alice holds tickets {list(alice_tokens)}; "
        f"{len(issued)} orders minted in one transaction"
    )
    again = bridge_show.mint_batch(0, runs[:1])
    skipped = len(again.named("OrderAlreadyFulfilled"))
    console.print(
        f"   the bridge resends Alice's order after a 'crash': {skipped} run skipped, "
        "nothing minted twice"
    )
    gas.add("resent order (skipped)", again)

    say(
        "3.",
        "Bob buys a VIP ticket with ETH straight from the contract (the money stays in escrow)",
    )
    bob_secret = new_secrets(1)
    bought = show.with_sender(s["bob"])
    assert isinstance(bought, TicketEventClient)
    purchase = bought.purchase(1, [bob_secret[0].commitment()])
    bob_token = TicketEventClient.issued_runs(purchase)[0].token_ids[0]
    gas.add("ETH purchase, 1 ticket", purchase)
    console.print(f"   ticket {bob_token}; escrow now {eth(show.escrow_balance())}")

    alice = show.with_sender(s["alice"])
    assert isinstance(alice, TicketEventClient)
    cap = show.resale_cap(0)
    say("4.", f"Alice lists ticket {alice_tokens[0]} at 0.1 ETH, above the cap of {eth(cap)}")
    error = refused(lambda: alice.list(alice_tokens[0], ETH // 10), "PriceAboveCap")
    console.print(f"   refused by the contract: {error}")

    say("5.", "Alice lists it at the cap; Carol buys it from her own wallet with a fresh secret")
    listed = alice.list(alice_tokens[0], cap)
    gas.add("list", listed)
    carol = show.with_sender(s["carol"])
    assert isinstance(carol, TicketEventClient)
    carol_secret = new_secrets(1)[0]
    alice_before = w3.eth.get_balance(cast.address("alice"))
    sale = carol.buy(alice_tokens[0], carol_secret.commitment(), price=cap)
    gas.add("resale buy", sale)
    resold = sale.first("Resold").args
    console.print(
        f"   royalty {eth(resold['royalty'])} to the organizer, "
        f"{eth(w3.eth.get_balance(cast.address('alice')) - alice_before)} to Alice; "
        f"holder commitment rotated to Carol's"
    )

    say("6.", "Bob gifts his VIP ticket to Dave: a listing at price 0 only Dave can take")
    gas.add("gift listing", bought.gift(bob_token, cast.address("dave")))
    dave = show.with_sender(s["dave"])
    assert isinstance(dave, TicketEventClient)
    gas.add("gift accepted", dave.buy(bob_token, new_secrets(1)[0].commitment(), price=0))
    console.print(f"   ticket {bob_token} now belongs to {show.owner_of(bob_token)} (Dave)")

    say("7.", "Two days pass: the resale window closes before doors; tickets are locked (ERC-5192)")
    increase_time(w3, 2 * DAY + 60)
    error = refused(lambda: alice.list(alice_tokens[1], cap), "ResaleClosed")
    console.print(
        f"   Alice's listing refused: {error}; "
        f"locked({alice_tokens[1]}) = {show.locked(alice_tokens[1])}"
    )

    say(
        "8.",
        "The organizer withdraws the royalties "
        "(the primary-sale escrow stays until the event ends)",
    )
    organizer = show.with_sender(s["organizer"])
    assert isinstance(organizer, TicketEventClient)
    withdrawn = organizer.withdraw_proceeds(cast.address("organizer"))
    gas.add("withdraw royalties", withdrawn)
    args = withdrawn.first("ProceedsWithdrawn").args
    console.print(f"   royalties {eth(args['royalties'])}, escrow released {eth(args['escrow'])}")

    now = latest_timestamp(w3)
    say("9.", "A second event, 'Matinee', sells two tickets to Erin for ETH, then is cancelled")
    matinee, _ = factory.create_event(
        EventParams(
            name="Fairgate Live: Matinee",
            symbol="MATINEE",
            organizer=cast.address("organizer"),
            starts_at=now + 5 * DAY,
            ends_at=now + 5 * DAY + 3 * 3600,
            tiers=(Tier(ETH // 10, 100, 10_000, 500, now, now + 4 * DAY),),
            minter=cast.address("bridge"),
        )
    )
    erin = matinee.with_sender(s["erin"])
    assert isinstance(erin, TicketEventClient)
    erin_tokens = TicketEventClient.issued_runs(
        erin.purchase(0, [x.commitment() for x in new_secrets(2)])
    )[0].token_ids
    cancelled = matinee.cancel()
    gas.add("cancel event", cancelled)
    refund = erin.claim_refund(list(erin_tokens))
    gas.add("refund claim, 2 tickets", refund)
    console.print(
        f"   Erin is refunded {eth(sum(e.args['amount'] for e in refund.named('RefundClaimed')))}; "
        f"tickets {list(erin_tokens)} are burned"
    )
    error = refused(lambda: erin.claim_refund(list(erin_tokens)), "NonexistentTicket")
    console.print(f"   a second claim is refused: {error}")
    return gas


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--port", type=int, default=None, help="Ganache port (default: settings, or a free one)"
    )
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    settings = get_settings()
    port = args.port or (
        settings.ganache_port if port_is_free(settings.ganache_port) else free_port()
    )
    console.rule("[bold]Fairgate: the ticket story on a local chain")
    try:
        with GanacheRunner(port) as node:
            console.print(f"Ganache at {node.url} (chain id {settings.chain_id})")
            w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 60}))
            signers = [
                Signer.from_account(a, f"dev{i}") for i, a in enumerate(node.accounts_with_keys())
            ]
            gas = play(w3, signers)
    except TicketError as exc:
        console.print(f"[bold red]demo failed:[/] {exc}")
        return 1
    console.print(gas.table())
    console.rule("[bold green]done")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
