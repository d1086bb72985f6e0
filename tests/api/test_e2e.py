"""The whole path on real Ganache and PostgreSQL: order -> checkout -> signed webhook -> batch
mint -> tickets in the fan's wallet; the custody path with a later claim; cancellation refunds."""

from __future__ import annotations

import pytest
from api_helpers import create_event, pay, place_order, read_order
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.accounts import BridgeAccounts
from api.services.locks import WorkerLocks
from api.worker import Worker
from fairgate.settings import Settings

pytestmark = [pytest.mark.ganache, pytest.mark.postgres]


def make_worker(
    settings: Settings, db: sessionmaker[Session], chain: BridgeAccounts, provider: object
) -> Worker:
    engine = db.kw["bind"]
    return Worker(settings, db, chain, provider, WorkerLocks(engine))  # type: ignore[arg-type]


def test_wallet_path_mints_in_one_batch(
    app_client: TestClient,
    organizer_key: str,
    db,
    settings,
    bridge_chain,
    provider,
    fans: list[LocalAccount],
) -> None:
    event = create_event(app_client, organizer_key, supply=50)
    assert event["contract_address"]
    orders = [place_order(app_client, event, 2, fans[i].address) for i in range(3)]
    for o in orders:
        assert pay(app_client, o)["outcome"] == "paid"
    worker = make_worker(settings, db, bridge_chain, provider)
    assert worker.minter.recover_orphans() == 0
    claimed = worker.minter.claim()
    assert claimed is not None and len(claimed.order_ids) == 3  # one batch for the three orders
    assert worker.minter.process(claimed) == 6
    contract = bridge_chain.event(event["contract_address"])
    for i, o in enumerate(orders):
        view = read_order(app_client, o)
        assert view["state"] == "minted"
        assert [h["to_state"] for h in view["history"]] == ["reserved", "paid", "minting", "minted"]
        assert len(view["tickets"]) == 2
        for t in view["tickets"]:
            assert contract.owner_of(t["token_id"]) == fans[i].address
        assert contract.balance_of(fans[i].address) == 2
    worker.run(until_idle=True)  # indexer catches up
    catalog = app_client.get(f"/events/{event['id']}").json()
    assert catalog["tiers"][0]["remaining"] == 44
    sales = app_client.get(
        f"/organizer/events/{event['id']}/sales", headers={"X-API-Key": organizer_key}
    )
    tier = sales.json()["tiers"][0]
    assert (tier["minted"], tier["tickets_sold"], tier["reserved"], tier["remaining"]) == (
        6,
        6,
        0,
        44,
    )
    assert tier["revenue_cents"] == 6 * 5000
    listed = app_client.get(
        f"/organizer/events/{event['id']}/orders", headers={"X-API-Key": organizer_key}
    )
    assert sorted(o["id"] for o in listed.json()) == sorted(o["id"] for o in orders)


def test_custody_path_then_claim(
    app_client: TestClient,
    organizer_key: str,
    db,
    settings,
    bridge_chain,
    provider,
    fans: list[LocalAccount],
) -> None:
    event = create_event(app_client, organizer_key, supply=10)
    order = place_order(app_client, event, 2, "custody")
    pay(app_client, order)
    worker = make_worker(settings, db, bridge_chain, provider)
    worker.run(until_idle=True)
    view = read_order(app_client, order)
    assert view["state"] == "minted" and all(t["custody"] for t in view["tickets"])
    contract = bridge_chain.event(event["contract_address"])
    for t in view["tickets"]:
        assert contract.owner_of(t["token_id"]) == bridge_chain.custody.address
    fan = fans[0]
    headers = {"X-Order-Token": order["order_token"]}
    message = app_client.get(
        f"/orders/{order['id']}/claim-message", params={"wallet": fan.address}, headers=headers
    ).json()["message"]
    # a signature by someone else proves nothing
    forged = fans[1].sign_message(encode_defunct(text=message)).signature.to_0x_hex()
    r = app_client.post(
        f"/orders/{order['id']}/claims",
        json={"wallet": fan.address, "signature": forged},
        headers=headers,
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    signature = fan.sign_message(encode_defunct(text=message)).signature.to_0x_hex()
    r = app_client.post(
        f"/orders/{order['id']}/claims",
        json={"wallet": fan.address, "signature": signature},
        headers=headers,
    )
    assert r.status_code == 202, r.text
    worker.run(until_idle=True)
    view = read_order(app_client, order)
    for t in view["tickets"]:
        assert contract.owner_of(t["token_id"]) == fan.address
        assert not t["custody"] and t["holder"] == fan.address


def test_declined_card_returns_seats(app_client: TestClient, organizer_key: str) -> None:
    event = create_event(app_client, organizer_key, supply=2)
    order = place_order(app_client, event, 2)
    assert app_client.post("/orders", json={**_body(event)}).status_code == 409
    assert pay(app_client, order, "4000000000000002")["outcome"] == "declined"
    assert read_order(app_client, order)["state"] == "declined"
    assert app_client.get(f"/events/{event['id']}").json()["tiers"][0]["remaining"] == 2


def _body(event):
    from api_helpers import order_body

    return order_body(event, 1)


def test_cancel_event_refunds_and_revokes(
    app_client: TestClient,
    organizer_key: str,
    db,
    settings,
    bridge_chain,
    provider,
    fans: list[LocalAccount],
) -> None:
    event = create_event(app_client, organizer_key, supply=10)
    minted = place_order(app_client, event, 2, fans[2].address)
    pay(app_client, minted)
    worker = make_worker(settings, db, bridge_chain, provider)
    worker.run(until_idle=True)
    unpaid = place_order(app_client, event, 1)
    r = app_client.post(
        f"/organizer/events/{event['id']}/cancel", headers={"X-API-Key": organizer_key}
    )
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    worker.run(until_idle=True)
    assert read_order(app_client, unpaid)["state"] == "cancelled"
    view = read_order(app_client, minted)
    assert view["state"] == "revoked"
    assert [h["to_state"] for h in view["history"]][-3:] == [
        "refund_pending",
        "revoking",
        "revoked",
    ]
    contract = bridge_chain.event(event["contract_address"])
    assert contract.balance_of(fans[2].address) == 0
    with db() as session:
        from api.models import LocalPayment

        assert session.get(LocalPayment, minted["payment_ref"]).status == "refunded"


def test_chargeback_revokes_minted_tickets(
    app_client: TestClient,
    organizer_key: str,
    db,
    settings,
    bridge_chain,
    provider,
    fans: list[LocalAccount],
) -> None:
    event = create_event(app_client, organizer_key, supply=10)
    order = place_order(app_client, event, 1, fans[3].address)
    pay(app_client, order)
    worker = make_worker(settings, db, bridge_chain, provider)
    worker.run(until_idle=True)
    body, headers = provider.signed(
        "charge.dispute.created", {"id": "dp_1", "payment_intent": order["payment_ref"]}
    )
    r = app_client.post("/webhooks/local", content=body, headers=headers)
    assert r.json()["outcome"] == "revoking"
    worker.run(until_idle=True)
    assert read_order(app_client, order)["state"] == "revoked"
    assert bridge_chain.event(event["contract_address"]).balance_of(fans[3].address) == 0


def test_expired_reservation_returns_to_sale(
    app_client: TestClient, organizer_key: str, db
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from api.models import Order, utcnow

    event = create_event(app_client, organizer_key, supply=2)
    stale = place_order(app_client, event, 2)
    assert app_client.post("/orders", json=_body(event)).status_code == 409
    with db() as s, s.begin():
        s.execute(
            update(Order)
            .where(Order.id == stale["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    fresh = app_client.post("/orders", json=_body(event))
    assert fresh.status_code == 201, fresh.text
    view = read_order(app_client, stale)
    assert view["state"] == "expired" and view["history"][-1]["reason"].startswith(
        "reservation expired"
    )
    # a payment that arrives after expiry takes seats again if any remain, else is refunded
    assert pay(app_client, stale)["outcome"] == "refund_pending"


def test_postgres_fast_path_is_used(
    app_client: TestClient, organizer_key: str, monkeypatch
) -> None:
    """On PostgreSQL an order is reserved by the single-statement path; the general path (with
    its separate seat UPDATE) only runs to explain a refusal."""
    import api.services.orders as orders_service

    event = create_event(app_client, organizer_key, supply=1)

    def general_path(*args, **kwargs):
        raise AssertionError("the general reservation path ran")

    monkeypatch.setattr(orders_service, "take_seats", general_path)
    order = place_order(app_client, event, 1)
    assert read_order(app_client, order)["history"][0]["to_state"] == "reserved"
    monkeypatch.undo()
    assert app_client.post("/orders", json=_body(event)).json()["error"]["code"] == "sold_out"
