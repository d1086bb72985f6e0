"""The minting worker's failure paths: a bad order is isolated instead of blocking the queue, an
order the chain can no longer supply (ETH buyers took the seats) is refunded, and a batch that
was sent but never recorded (crash between send and bookkeeping) is reconciled without a re-mint."""

from __future__ import annotations

import pytest
from api_helpers import create_event, pay, place_order, read_order
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from api.models import Event, LocalPayment, Order
from api.schemas import FIELD_MODULUS
from api.services.locks import BATCH_NS, WorkerLocks
from api.services.minting import Minter, sequential_ref
from api.worker import Worker
from chain.client import ContractClient
from chain.keys import Signer
from chain.sender import TransactionSender

pytestmark = [pytest.mark.postgres, pytest.mark.ganache]


def worker(settings, db, chain, provider) -> Worker:
    return Worker(settings, db, chain, provider, WorkerLocks(db.kw["bind"]))


def test_invalid_commitment_is_isolated(
    app_client: TestClient,
    organizer_key,
    db,
    settings,
    bridge_chain,
    provider,
    fans: list[LocalAccount],
) -> None:
    event = create_event(app_client, organizer_key, supply=20)
    orders = [place_order(app_client, event, 1, fans[i].address) for i in range(3)]
    for o in orders:
        pay(app_client, o)
    with db() as s, s.begin():  # corrupt one order behind the API's validation
        s.execute(
            update(Order)
            .where(Order.id == orders[1]["id"])
            .values(commitments=[f"0x{FIELD_MODULUS:064x}"])
        )
    worker(settings, db, bridge_chain, provider).run(until_idle=True)
    states = [read_order(app_client, o)["state"] for o in orders]
    assert states == ["minted", "refunded", "minted"]
    bad = read_order(app_client, orders[1])
    assert bad["failure_code"] == "InvalidCommitment"
    with db() as s:
        assert s.get(LocalPayment, orders[1]["payment_ref"]).status == "refunded"


def test_sold_out_on_chain_is_refunded(
    app_client: TestClient,
    organizer_key,
    db,
    settings,
    bridge_chain,
    provider,
    w3,
    fans: list[LocalAccount],
) -> None:
    event = create_event(app_client, organizer_key, supply=5)
    # an ETH buyer takes 3 seats straight from the contract, before the indexer has seen it
    buyer = fans[4]
    sender = TransactionSender(w3, Signer.from_account(buyer), settings=settings)
    contract = ContractClient(
        w3,
        event["contract_address"],
        sender,
        artifact=bridge_chain.event(event["contract_address"]).artifact,
    )
    contract.transact(
        "purchase", 0, [(i + 1).to_bytes(32, "big") for i in range(3)], value=3 * 10**15
    )
    first = place_order(app_client, event, 2, fans[0].address)
    second = place_order(app_client, event, 2, fans[1].address)
    pay(app_client, first)
    pay(app_client, second)
    worker(settings, db, bridge_chain, provider).run(until_idle=True)
    assert read_order(app_client, first)["state"] == "minted"
    view = read_order(app_client, second)
    assert view["state"] == "refunded" and view["failure_code"] == "SoldOut"
    catalog = app_client.get(f"/events/{event['id']}").json()
    assert catalog["tiers"][0]["remaining"] == 0


def test_sent_but_unrecorded_batch_is_reconciled_not_reminted(
    app_client: TestClient, organizer_key, db, settings, bridge_chain, provider, fans
) -> None:
    event = create_event(app_client, organizer_key, supply=10)
    order = place_order(app_client, event, 2, fans[0].address)
    pay(app_client, order)
    locks = WorkerLocks(db.kw["bind"])
    crashed = Minter(db, bridge_chain, locks, settings, name="crashed")
    claimed = crashed.claim()
    assert claimed is not None
    # the transaction goes out, then the worker "dies" before recording anything
    runs = crashed.runs(claimed)
    tx = bridge_chain.event(claimed.contract).mint_batch_tx(claimed.tier_index, runs)
    bridge_chain.minter_sender.send_and_wait(tx, gas=crashed.gas_for(1, 2))
    locks.release(BATCH_NS, claimed.batch_id)  # its connection would be gone
    survivor = Minter(db, bridge_chain, WorkerLocks(db.kw["bind"]), settings, name="survivor")
    assert survivor.recover_orphans() == 2
    view = read_order(app_client, order)
    assert view["state"] == "minted" and len(view["tickets"]) == 2
    assert bridge_chain.event(event["contract_address"]).next_token_id() == 2
    # resending the same batch is skipped on-chain
    bridge_chain.minter_sender.send_and_wait(tx, gas=crashed.gas_for(1, 2))
    assert bridge_chain.event(event["contract_address"]).next_token_id() == 2
    with db() as s:
        assert s.scalar(select(Order.state).where(Order.id == order["id"])) == "minted"


def test_cancel_while_minting_still_refunds_and_revokes(
    app_client: TestClient, organizer_key, db, settings, bridge_chain, provider, fans
) -> None:
    event = create_event(app_client, organizer_key, supply=10)
    order = place_order(app_client, event, 1, fans[1].address)
    pay(app_client, order)
    locks = WorkerLocks(db.kw["bind"])
    inflight = Minter(db, bridge_chain, locks, settings, name="inflight")
    claimed = inflight.claim()
    runs = inflight.runs(claimed)
    bridge_chain.minter_sender.send_and_wait(
        bridge_chain.event(claimed.contract).mint_batch_tx(claimed.tier_index, runs),
        gas=inflight.gas_for(1, 1),
    )
    # the organizer cancels while the batch is in flight: the order is 'minting', not settled yet
    r = app_client.post(
        f"/organizer/events/{event['id']}/cancel", headers={"X-API-Key": organizer_key}
    )
    assert r.status_code == 200
    assert read_order(app_client, order)["state"] == "minting"
    locks.release(BATCH_NS, claimed.batch_id)
    worker(settings, db, bridge_chain, provider).run(until_idle=True)
    view = read_order(app_client, order)
    assert [h["to_state"] for h in view["history"]][-4:] == [
        "minted",
        "refund_pending",
        "revoking",
        "revoked",
    ]
    assert bridge_chain.event(event["contract_address"]).balance_of(fans[1].address) == 0


def test_orders_get_consecutive_refs_of_their_event_at_their_first_claim(
    app_client: TestClient,
    organizer_key,
    db,
    settings,
    bridge_chain,
    provider,
    fans: list[LocalAccount],
) -> None:
    first_event = create_event(app_client, organizer_key, supply=20)
    second_event = create_event(app_client, organizer_key, supply=20)
    orders = [place_order(app_client, first_event, 1, fans[i].address) for i in range(3)]
    other = place_order(app_client, second_event, 1, fans[3].address)
    with db() as s:  # no ref before the order is claimed for minting
        assert s.get(Order, orders[0]["id"]).order_ref is None
    for o in [*orders, other]:
        pay(app_client, o)
    worker(settings, db, bridge_chain, provider).run(until_idle=True)

    with db() as s:
        refs = [s.get(Order, o["id"]).order_ref for o in orders]
        other_ref = s.get(Order, other["id"]).order_ref
        counters = [s.get(Event, e["id"]).order_refs_issued for e in (first_event, second_event)]
    assert refs == [f"0x{(first_event['id'] << 64) | n:064x}" for n in (1, 2, 3)]
    assert other_ref == f"0x{(second_event['id'] << 64) | 1:064x}"
    assert counters == [3, 1]
    contract = bridge_chain.event(first_event["contract_address"])
    assert all(contract.order_fulfilled(bytes.fromhex(r[2:])) for r in refs)
    assert [read_order(app_client, o)["state"] for o in orders] == ["minted"] * 3


def test_a_ref_counter_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError):
        sequential_ref(1, 0)
    with pytest.raises(ValueError):
        sequential_ref(1, 1 << 64)
    assert sequential_ref(2, 1) == f"0x{(2 << 64) | 1:064x}"
