"""The whole Fairgate story on a local stack, in plain words, with every transaction and its gas.

    .venv/bin/python scripts/demo.py [--keep] [--node anvil]   (the README's `make demo`)

It starts what `fairgate dev up` starts - Ganache (or Anvil), the platform's factory, the
embedded IPFS store, the fiat bridge (SQLite) and its minting worker - in a fresh folder, then
plays the story of the design:

1. An organizer pins its event metadata to IPFS and creates two events through the bridge; the
   organizer's own wallet is the contracts' organizer (the platform never holds its money).
2. Alice pays two tickets by card: checkout, signed webhook, batch mint by the worker.
3. Bob buys one with ETH straight from the contract.
4. Alice lists one above the cap (refused by the contract), then at the cap; Carol buys it: the
   price is held until the show has happened (Alice paid by card), then the organizer gets the
   royalty and Alice the rest; the ticket's commitment becomes Carol's.
5. Bob gifts his ticket to Dave.
6. The resale window closes; the organizer publishes the gate tree's root. At the gate, Alice and
   Carol enter with zero-knowledge proofs; a replayed proof and Alice's old secret are refused;
   the gate anchors the used nullifiers on-chain after doors.
7. The organizer cancels the matinee: Erin (ETH) claims her refund from the contract, Frank
   (card) is refunded by the bridge and his tickets are revoked.
8. A stablecoin event: the organizer's wallet creates an event priced in the dev stack's test
   stablecoin (FUSD, 6 decimals); Erin buys with an EIP-2612 permit in the same transaction,
   lists above the cap (refused) and at the cap, Frank buys the resale, the organizer withdraws
   the royalty - all in FUSD.

The first run on a machine also runs the development trusted setup of the gate circuit (a few
minutes; cached afterwards, see zk/README.md).
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from demo_support import (
    ETH,
    Bridge,
    GasLog,
    cast,
    console,
    detail,
    eth,
    gate_tree,
    refused,
    say,
    scope_of,
    stack_state,
)
from eth_typing import HexStr
from eth_utils.address import to_checksum_address
from PIL import Image

DAY = 86_400


def poster(colour: tuple[int, int, int]) -> bytes:
    """A small PNG standing in for the event's artwork."""
    out = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(out, format="PNG")
    return out.getvalue()


def pin_metadata(
    name: str, venue: str, starts_at: int, tiers: list[str], colour: tuple[int, int, int]
) -> str:
    """Pin the event's ERC-721 metadata (one file per tier) to IPFS; returns the base URI."""
    from fairgate.settings import get_settings
    from metadata import erc721
    from metadata.store import store_from_settings

    bundle = erc721.build_event_bundle(
        erc721.Event(
            name=name,
            description=f"{name} at {venue}",
            venue=venue,
            start_time=datetime.fromtimestamp(starts_at, UTC),
            image=poster(colour),
        ),
        [erc721.Tier(tier_id=i, name=t) for i, t in enumerate(tiers)],
    )
    cid = store_from_settings(get_settings()).put_directory(bundle.files)
    assert str(cid) == str(bundle.cid), "the store's CID must equal the one computed locally"
    detail(f"metadata pinned: ipfs://{cid} (tokenURI = {bundle.base_uri}<tier>)")
    return str(bundle.base_uri)


def play(home: Path) -> GasLog:
    from web3 import Web3

    from chain.devchain import increase_time, latest_timestamp
    from chain.ticket_event import TicketEventClient
    from gate.service import GateService
    from zk import payload
    from zk.prover import GateProver
    from zk.setup import current_artifacts

    state = stack_state(home)
    w3 = Web3(
        Web3.HTTPProvider(state["components"]["chain"]["url"], request_kwargs={"timeout": 60})
    )
    bridge = Bridge(
        state["components"]["bridge"]["url"], (home / "dev" / "admin-key").read_text().strip()
    )
    people = cast(
        w3, ["organizer", "gate", "alice", "bob", "carol", "dave", "erin", "frank"], first_index=3
    )
    organizer, gate_staff = people["organizer"], people["gate"]
    alice, bob, carol, dave, erin, frank = (
        people[n] for n in ("alice", "bob", "carol", "dave", "erin", "frank")
    )
    gas = GasLog()

    say(
        "0.",
        "Warming the zero-knowledge prover "
        "(the first run on a machine also runs the trusted setup)",
    )
    current_artifacts()
    prover = GateProver()

    # ---------------------------------------------------------------- 1. events
    now = latest_timestamp(w3)
    say(
        "1.",
        "The organizer signs up with the bridge, pins its metadata to IPFS and creates two events",
    )
    api_key = bridge.new_organizer("Warehouse Nights", organizer.address)
    starts = now + 3 * DAY
    tiers = [
        {
            "name": "General",
            "price_cents": 5_000,
            "face_value_wei": ETH // 20,
            "supply": 300,
            "resale_cap_bps": 11_000,
            "royalty_bps": 500,
            "resale_opens_at": now,
            "resale_closes_at": now + 2 * DAY,
        },
        {
            "name": "VIP",
            "price_cents": 20_000,
            "face_value_wei": ETH // 5,
            "supply": 40,
            "resale_cap_bps": 10_000,
            "royalty_bps": 1_000,
            "resale_opens_at": now,
            "resale_closes_at": now + 2 * DAY,
        },
    ]
    night = bridge.create_event(
        api_key,
        {
            "name": "Night One",
            "symbol": "NIGHT1",
            "venue": "Warehouse 9",
            "starts_at": datetime.fromtimestamp(starts, UTC).isoformat(),
            "ends_at": datetime.fromtimestamp(starts + 6 * 3600, UTC).isoformat(),
            "organizer_address": organizer.address,
            "gate_address": gate_staff.address,
            "base_uri": pin_metadata(
                "Night One", "Warehouse 9", starts, ["General", "VIP"], (200, 40, 90)
            ),
            "tiers": tiers,
        },
    )
    show = TicketEventClient(w3, night["contract_address"])
    deploy_block = w3.eth.block_number
    # the bridge proposed the organizer's wallet; the event is the wallet's once it accepts
    gas.result("the organizer's wallet accepts Night One", organizer.on(show).accept_organizer())
    detail(
        f"'Night One' is contract {show.address}; its organizer on-chain is the organizer's own "
        f"wallet {show.organizer()}, which accepted it"
    )
    matinee_start = now + 4 * DAY
    matinee = bridge.create_event(
        api_key,
        {
            "name": "Matinee",
            "symbol": "MATINEE",
            "venue": "Warehouse 9",
            "starts_at": datetime.fromtimestamp(matinee_start, UTC).isoformat(),
            "ends_at": datetime.fromtimestamp(matinee_start + 3 * 3600, UTC).isoformat(),
            "organizer_address": organizer.address,
            "gate_address": gate_staff.address,
            "base_uri": pin_metadata(
                "Matinee", "Warehouse 9", matinee_start, ["Seat"], (40, 120, 200)
            ),
            "tiers": [
                {
                    "name": "Seat",
                    "price_cents": 3_000,
                    "face_value_wei": ETH // 10,
                    "supply": 100,
                    "resale_cap_bps": 10_000,
                    "royalty_bps": 500,
                    "resale_opens_at": now,
                    "resale_closes_at": now + 3 * DAY,
                }
            ],
        },
    )
    afternoon = TicketEventClient(w3, matinee["contract_address"])
    organizer.on(afternoon).accept_organizer()
    detail(f"'Matinee' is contract {afternoon.address}")

    # ---------------------------------------------------------------- 2. card
    say(
        "2.",
        "Alice pays two General tickets by card; her device made their secrets, only the "
        "commitments go to the bridge",
    )
    alice_secrets = alice.new_secrets(show, 2)
    created = bridge.create_order(
        {
            "event_id": night["id"],
            "tier_id": night["tiers"][0]["id"],
            "quantity": 2,
            "email": "alice@example.org",
            "wallet": alice.address,
            "commitments": [str(s.commitment()) for s in alice_secrets],
        }
    )
    detail(
        f"order {created['id']} reserved until {created['expires_at']}; "
        f"checkout {created['checkout_url']}"
    )
    paid = bridge.pay(created["checkout_url"], "4242424242424242")
    detail(f"card accepted; the provider's signed webhook was {paid.get('outcome', 'applied')}")
    order = bridge.wait_order(created["id"], created["order_token"], {"minted"})
    alice_tokens = sorted(t["token_id"] for t in order["tickets"])
    issued = show.events(deploy_block, names=["TicketsIssued"])
    receipt = w3.eth.get_transaction_receipt(HexStr(issued[-1].tx_hash))
    gas.add("card order minted by the worker (batch)", issued[-1].tx_hash, int(receipt["gasUsed"]))
    detail(
        f"the worker minted tickets {alice_tokens} to Alice's wallet; order history: "
        + " -> ".join(h["to_state"] for h in order["history"])
    )

    # ---------------------------------------------------------------- 3. ETH
    say(
        "3.",
        "Bob buys a VIP ticket with ETH straight from the contract (the money stays in escrow)",
    )
    bob_secret = bob.new_secrets(show, 1)[0]
    bought = gas.result("ETH purchase", bob.on(show).purchase(1, [bob_secret.commitment()]))
    bob_token = TicketEventClient.issued_runs(bought)[0].token_ids[0]
    detail(f"ticket {bob_token}; escrow {eth(show.escrow_balance())}")

    gas.result(
        "publish the gate root after the first sales",
        organizer.gate_of(show).publish_root(gate_tree(w3, show, deploy_block).root),
    )

    # ---------------------------------------------------------------- 4. resale
    cap = show.resale_cap(0)
    say("4.", f"Alice lists ticket {alice_tokens[0]} for 0.1 ETH, above the cap of {eth(cap)}")
    error = refused(lambda: alice.on(show).list(alice_tokens[0], ETH // 10), "PriceAboveCap")
    detail(f"refused by the contract: {error}")
    say("  ", "She lists it at the cap, and Carol buys it from her own wallet")
    gas.result("list at the cap", alice.on(show).list(alice_tokens[0], cap))
    before_resale = w3.eth.block_number
    carol_secret = carol.new_secrets(show, 1)[0]
    alice_balance = w3.eth.get_balance(to_checksum_address(alice.address))
    sale = gas.result(
        "resale buy", carol.on(show).buy(alice_tokens[0], carol_secret.commitment(), price=cap)
    )
    royalty = sale.first("Resold").args["royalty"]
    paid_now = w3.eth.get_balance(to_checksum_address(alice.address)) - alice_balance
    held = show.held_sale(alice_tokens[0]).price
    owed = show.pending_of(alice.address)
    detail(
        f"Alice paid by card, so the contract holds the face value {eth(held)} until the show "
        f"has happened ({eth(paid_now)} pushed to her now, {eth(owed)} above face hers to "
        "withdraw): a chargeback of her card would give the face value to the organizer, not "
        f"her. Of the royalty {eth(royalty)}, the part on the face value goes to the organizer "
        "with it. The ticket's commitment is now Carol's"
    )

    # ---------------------------------------------------------------- 5. gift
    say("5.", "Bob gifts his VIP ticket to Dave: a listing at price 0 that only Dave can take")
    gas.result("gift listing", bob.on(show).gift(bob_token, dave.address))
    gas.result(
        "gift accepted",
        dave.on(show).buy(bob_token, dave.new_secrets(show, 1)[0].commitment(), price=0),
    )
    detail(f"ticket {bob_token} belongs to Dave now")

    # ---------------------------------------------------------------- 6. doors
    say("6.", "Two days later the resale window has closed; tickets are locked (ERC-5192)")
    increase_time(w3, 2 * DAY + 60)
    error = refused(lambda: alice.on(show).list(alice_tokens[1], cap), "ResaleClosed")
    detail(f"a late listing is refused: {error}")
    tree = gate_tree(w3, show, deploy_block)
    previous_root = organizer.gate_of(show).current_root()
    gas.result("publish the gate root", organizer.gate_of(show).publish_root(tree.root))
    # the root from before the resale holds Alice's old secret: the gate contract refuses it at
    # once (published before holders last changed), with no retirement to remember
    assert not organizer.gate_of(show).is_accepted_root(previous_root)
    detail(
        f"the organizer published the root of {show.next_token_id()} tickets' commitments, "
        "rebuilt from chain events alone"
    )
    increase_time(w3, DAY - 3600)

    gate = GateService.open(client=gate_staff.on(show))
    try:
        gate.sync()
        challenge = gate.challenges.current().challenge
        detail(f"the gate shows its challenge {challenge:#x}"[:60] + "...")
        scope = scope_of(show)
        carol_proof = payload.encode(
            prover.prove(carol_secret, tree.proof(alice_tokens[0]), scope, challenge)
        )
        result = gate.check(carol_proof)
        detail(
            f"Carol shows her QR code ({len(carol_proof)} characters): {result.reason} "
            f"in {result.total_ms:.1f} ms"
        )
        alice_proof = payload.encode(
            prover.prove(alice_secrets[1], tree.proof(alice_tokens[1]), scope, challenge)
        )
        detail(f"Alice shows hers: {gate.check(alice_proof).reason}")
        detail(f"someone replays Carol's code: {gate.check(carol_proof).reason}")
        old_tree = gate_tree(w3, show, deploy_block, until_block=before_resale)
        stale = payload.encode(
            prover.prove(alice_secrets[0], old_tree.proof(alice_tokens[0]), scope, challenge)
        )
        detail(f"Alice tries the ticket she sold, with her old secret: {gate.check(stale).reason}")
        increase_time(w3, 7 * 3600)
        report = gate.anchor()
        for tx_hash in report.transactions:
            gas.add(
                "anchor check-ins after doors",
                tx_hash,
                int(w3.eth.get_transaction_receipt(HexStr(tx_hash))["gasUsed"]),
            )
        detail(f"after doors the gate anchored {report.anchored} nullifiers on-chain")
    finally:
        gate.close()
    gas.result(
        "organizer withdraws proceeds", organizer.on(show).withdraw_proceeds(organizer.address)
    )

    # ---------------------------------------------------------------- 7. cancellation
    say("7.", "The matinee is cancelled: Erin bought with ETH, Frank by card")
    erin_tokens = TicketEventClient.issued_runs(
        gas.result(
            "ETH purchase (matinee)",
            erin.on(afternoon).purchase(
                0, [s.commitment() for s in erin.new_secrets(afternoon, 2)]
            ),
        )
    )[0].token_ids
    frank_order = bridge.create_order(
        {
            "event_id": matinee["id"],
            "tier_id": matinee["tiers"][0]["id"],
            "quantity": 1,
            "email": "frank@example.org",
            "wallet": frank.address,
            "commitments": [str(frank.new_secrets(afternoon, 1)[0].commitment())],
        }
    )
    bridge.pay(frank_order["checkout_url"], "4242424242424242")
    bridge.wait_order(frank_order["id"], frank_order["order_token"], {"minted"})
    gas.result("organizer cancels the matinee", organizer.on(afternoon).cancel())
    refund = gas.result(
        "Erin claims her refund", erin.on(afternoon).claim_refund(list(erin_tokens))
    )
    again = refused(lambda: erin.on(afternoon).claim_refund(list(erin_tokens)), "NonexistentTicket")
    detail(
        f"Erin got {eth(sum(e.args['amount'] for e in refund.named('RefundClaimed')))} back; "
        f"a second claim: {again}"
    )
    final = bridge.wait_order(
        frank_order["id"], frank_order["order_token"], {"revoked", "refunded"}
    )
    detail(
        "the bridge saw the cancellation on-chain, refunded Frank's card and revoked his ticket: "
        + " -> ".join(h["to_state"] for h in final["history"])
    )
    stablecoin_night(w3, state, gas, organizer, erin, frank)
    return gas


def stablecoin_night(
    w3: Any, state: dict[str, Any], gas: GasLog, organizer: Any, erin: Any, frank: Any
) -> None:
    """Step 8: an event settling in the test stablecoin, every payment in FUSD."""
    from chain.devchain import latest_timestamp
    from chain.erc20 import Erc20Client
    from chain.factory import TicketFactoryClient
    from chain.ticket_event import TicketEventClient
    from chain.types import EventParams, Tier

    say(
        "8.",
        "A stablecoin night: the organizer's own wallet creates an event priced in FUSD, the "
        "dev stack's test stablecoin (6 decimals, EIP-2612 permit)",
    )
    usd = 10**6
    now = latest_timestamp(w3)
    starts = now + 3 * DAY
    coin = Erc20Client(w3, state["stablecoin"], organizer.sender)
    fusd = coin.currency()
    factory = TicketFactoryClient(w3, state["factory"], organizer.sender)
    jazz, created = factory.create_event(
        EventParams(
            name="Jazz Brunch",
            symbol="JAZZ",
            organizer=organizer.address,
            starts_at=starts,
            ends_at=starts + 4 * 3600,
            tiers=(Tier(45 * usd, 200, 11_000, 500, now, starts - 3600),),
            base_uri=pin_metadata("Jazz Brunch", "Warehouse 9", starts, ["Table"], (30, 160, 90)),
            currency=coin.address,
        )
    )
    gas.result("create a stablecoin event (clone)", created)
    for person in (erin, frank):
        coin.mint(person.address, 200 * usd)  # what `fairgate dev faucet NAME` does
    detail(
        f"'Jazz Brunch' is contract {jazz.address}, paid in {fusd.symbol} ({fusd.address}); "
        f"Erin and Frank got {fusd.format(200 * usd)} each from the faucet"
    )
    bought = gas.result(
        "FUSD purchase, permit in the same transaction",
        erin.on(jazz).purchase(0, [s.commitment() for s in erin.new_secrets(jazz, 2)]),
    )
    tokens = TicketEventClient.issued_runs(bought)[0].token_ids
    detail(
        f"Erin signed a permit and bought tickets {list(tokens)} in one transaction for "
        f"{fusd.format(90 * usd)}; escrow {fusd.format(jazz.escrow_balance())}"
    )
    cap = jazz.resale_cap(0)
    error = refused(lambda: erin.on(jazz).list(tokens[0], cap + 1), "PriceAboveCap")
    detail(f"Erin lists one for {fusd.format(cap + 1)}: refused, {error}")
    gas.result("list at the cap (FUSD)", erin.on(jazz).list(tokens[0], cap))
    before = coin.balance_of(erin.address)
    sale = gas.result(
        "FUSD resale buy, permit in the same transaction",
        frank.on(jazz).buy(tokens[0], frank.new_secrets(jazz, 1)[0].commitment(), price=cap),
    )
    royalty = int(sale.first("Resold").args["royalty"])
    detail(
        f"Frank bought it for {fusd.format(cap)}: Erin (who paid on-chain) got "
        f"{fusd.format(coin.balance_of(erin.address) - before)} at once, the organizer's "
        f"royalty is {fusd.format(royalty)}"
    )
    withdrawn = organizer.on(jazz).withdraw_proceeds(organizer.address)
    gas.result("organizer withdraws FUSD royalties", withdrawn)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--keep", action="store_true", help="leave the stack running and its folder in place"
    )
    parser.add_argument(
        "--node",
        choices=("ganache", "anvil"),
        default=None,
        help="local chain node (default: FAIRGATE_NODE, else ganache)",
    )
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    home = Path(tempfile.mkdtemp(prefix="fairgate-demo-"))
    os.environ["FAIRGATE_HOME"] = str(home)  # before anything reads the settings

    from cli import dev
    from fairgate.errors import TicketError

    console.rule("[bold]Fairgate: the whole story on a local stack")
    gas = None
    try:
        dev.up(chain_port=None, api_port=None, ipfs="embedded", bridge=True, node=args.node)
        gas = play(home)
    except TicketError as exc:
        console.print(f"\n[bold red]the demo stopped:[/] {exc}")
        return 1
    finally:
        if not args.keep:
            dev.down()
            shutil.rmtree(home, ignore_errors=True)
    if gas is not None:
        console.print(gas.table())
    console.rule(
        "[bold green]done" + (f" (stack left running, FAIRGATE_HOME={home})" if args.keep else "")
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
