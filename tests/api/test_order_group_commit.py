"""Order creation's group commit (api.services.orders.GroupCommit): orders that arrive together
share one transaction, yet each still gets its seats checked on its own, and every row an order
needs (order, history line, local payment) exists for each order reserved, and only for those."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from api_helpers import LiveServer, create_event, order_body
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from api.models import Event, LocalPayment, Order, OrderEvent, Organizer, Tier
from api.payments.local import PENDING, LocalProvider
from api.schemas import OrderCreate
from api.security import same_hash
from api.services import orders
from fairgate.settings import Settings

pytestmark = [pytest.mark.postgres, pytest.mark.ganache]


def _tier(db: sessionmaker[Session], supply: int) -> tuple[int, int]:
    """An event on sale with one tier, straight in the database: ``(event id, tier id)``."""
    now = datetime.now(UTC)
    with db() as s:
        organizer = Organizer(name="Direct")
        s.add(organizer)
        s.flush()
        event = Event(
            organizer_id=organizer.id,
            name="Direct",
            symbol="DIR",
            starts_at=now + timedelta(days=3),
            ends_at=now + timedelta(days=4),
            state="active",
        )
        s.add(event)
        s.flush()
        tier = Tier(
            event_id=event.id,
            tier_index=0,
            name="GA",
            price_cents=2500,
            face_value_wei="1",
            supply=supply,
            resale_cap_bps=10000,
            royalty_bps=0,
            resale_opens_at=0,
            resale_closes_at=0,
        )
        s.add(tier)
        s.commit()
        return event.id, tier.id


def _prepared(
    provider: LocalProvider, settings: Settings, event_id: int, tier_id: int, n: int
) -> list[tuple[dict[str, Any], orders.CreatedOrder]]:
    event = {"id": event_id, "tiers": [{"id": tier_id}]}
    return [
        orders._prepare(provider, settings, OrderCreate(**order_body(event, 1)), 2500)
        for _ in range(n)
    ]


def _reserve_together(engine: Engine, values: list[dict[str, Any]]) -> list[Any]:
    """All at once on one event loop: the first goes alone, the others queue as one batch."""

    async def run() -> list[Any]:
        group = orders.GroupCommit.of(engine)
        return await asyncio.gather(*(group.reserve(v) for v in values), return_exceptions=True)

    return asyncio.run(run())


def test_a_batch_reserves_each_order_with_its_own_seat_check(
    engine: Engine, db: sessionmaker[Session], provider: LocalProvider, settings: Settings
) -> None:
    event_id, tier_id = _tier(db, supply=6)
    prepared = _prepared(provider, settings, event_id, tier_id, 10)
    results = _reserve_together(engine, [v for v, _ in prepared])
    assert results == [True] * 6 + [False] * 4  # in arrival order, as one at a time would
    reserved = {created.id for (_, created), ok in zip(prepared, results, strict=True) if ok}
    with db() as s:
        assert s.get(Tier, tier_id).taken == 6
        assert set(s.scalars(select(Order.id))) == reserved
        assert set(s.scalars(select(OrderEvent.order_id))) == reserved
        assert set(s.scalars(select(LocalPayment.order_id))) == reserved


def test_a_refused_order_fails_alone(
    engine: Engine, db: sessionmaker[Session], provider: LocalProvider, settings: Settings
) -> None:
    event_id, tier_id = _tier(db, supply=10)
    values = [v for v, _ in _prepared(provider, settings, event_id, tier_id, 5)]
    values[2] = {**values[2], "email": "x" * 400 + "@example.com"}  # the column holds 320
    results = _reserve_together(engine, values)
    assert results[:2] == [True, True] and results[3:] == [True, True]
    assert isinstance(results[2], psycopg.errors.StringDataRightTruncation)
    with db() as s:
        assert s.get(Tier, tier_id).taken == 4
        assert s.scalar(select(func.count()).select_from(Order)) == 4
        assert s.scalar(select(func.count()).select_from(LocalPayment)) == 4
        assert s.scalar(select(func.count()).select_from(OrderEvent)) == 4


def test_concurrent_orders_over_http_have_every_row(
    app_client: TestClient, organizer_key: str, settings: Settings, db: sessionmaker[Session]
) -> None:
    event = create_event(app_client, organizer_key, supply=24, tiers=2, price_cents=1500)
    bodies = [
        order_body(event, 1 + i % 2, wallet="custody" if i % 3 else "0x" + "ab" * 20, tier=i % 2)
        for i in range(80)
    ]
    server = LiveServer(settings, workers=1)  # one process: concurrent orders share batches
    try:
        with (
            httpx.Client(
                base_url=server.url, timeout=30, limits=httpx.Limits(max_connections=32)
            ) as client,
            ThreadPoolExecutor(32) as pool,
        ):
            responses = list(pool.map(lambda b: client.post("/orders", json=b), bodies))
            created = [r.json() for r in responses if r.status_code == 201]
            read = [
                client.get(f"/orders/{o['id']}", headers={"X-Order-Token": o["order_token"]})
                for o in created
            ]
    finally:
        server.stop()
    assert set(Counter(r.status_code for r in responses)) == {201, 409}
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"sold_out"}
    with db() as s:
        for tier in event["tiers"]:
            sold = sum(o["quantity"] for o in created if o["tier_id"] == tier["id"])
            assert sold == s.get(Tier, tier["id"]).taken == 24  # tier 0: 1 seat each, 1: 2
        assert s.scalar(select(func.count()).select_from(Order)) == len(created)
        assert s.scalar(select(func.count()).select_from(OrderEvent)) == len(created)
        assert s.scalar(select(func.count()).select_from(LocalPayment)) == len(created)
        for body, answer in zip(bodies, responses, strict=True):
            if answer.status_code != 201:
                continue
            o = answer.json()
            assert o["state"] == "reserved" and o["tickets"] == []
            assert o["quantity"] == body["quantity"] and o["amount_cents"] == 1500 * o["quantity"]
            assert o["custody"] is (body["wallet"] == "custody")
            assert o["checkout_url"].endswith(f"/checkout/{o['payment_ref']}")
            [line] = o["history"]
            assert line["from_state"] is None and line["to_state"] == "reserved"
            row = s.get(Order, o["id"])
            assert row is not None and row.state == "reserved"
            assert same_hash(o["order_token"], row.token_hash)
            assert row.payment_ref == o["payment_ref"] and row.quantity == body["quantity"]
            assert row.commitments == [f"0x{int(c):064x}" for c in body["commitments"]]
            payment = s.get(LocalPayment, o["payment_ref"])
            assert payment is not None and payment.order_id == o["id"]
            assert payment.amount_cents == o["amount_cents"] and payment.status == PENDING
    for answer, again in zip(created, read, strict=True):
        assert again.status_code == 200
        shown = again.json()
        assert json.dumps(shown["history"]) == json.dumps(answer["history"])
        assert {k: shown[k] for k in shown} == {k: answer[k] for k in shown}
