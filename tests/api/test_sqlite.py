"""The embedded default: SQLite, migrated with Alembic, runs the general reservation path (the
PostgreSQL single-statement path does not apply), webhooks, expiry and the sweep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from api_helpers import order_body, pay, read_order
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.app import create_app
from api.db import make_engine, session_factory
from api.migrate import upgrade
from api.models import Event, Order, Organizer, Tier, utcnow
from fairgate.settings import Settings


@pytest.fixture()
def sqlite_client(tmp_path):
    settings = Settings(env="test", home=tmp_path, order_rate_per_s=1000, order_rate_burst=1000)
    assert settings.sqlalchemy_url.startswith("sqlite:///")
    engine = make_engine(settings)
    upgrade(engine)
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    with sessions() as s:
        organizer = Organizer(name="o")
        s.add(organizer)
        s.flush()
        event = Event(
            organizer_id=organizer.id,
            name="e",
            symbol="E",
            starts_at=now + timedelta(days=1),
            ends_at=now + timedelta(days=2),
            state="active",
            contract_address="0x" + "11" * 20,
        )
        s.add(event)
        s.flush()
        tier = Tier(
            event_id=event.id,
            tier_index=0,
            name="GA",
            price_cents=2500,
            face_value_wei="1",
            supply=3,
            resale_cap_bps=10000,
            royalty_bps=0,
            resale_opens_at=0,
            resale_closes_at=0,
        )
        s.add(tier)
        s.commit()
        info = {"id": event.id, "tiers": [{"id": tier.id}]}
    with TestClient(create_app(settings, engine=engine, with_chain=False)) as client:
        yield client, info, sessions
    engine.dispose()


def test_sqlite_orders_webhooks_and_expiry(sqlite_client) -> None:
    client, event, sessions = sqlite_client
    first = client.post("/orders", json=order_body(event, 2))
    assert first.status_code == 201, first.text
    first = first.json()
    assert first["amount_cents"] == 5000
    assert client.post("/orders", json=order_body(event, 2)).json()["error"]["code"] == "sold_out"
    second = client.post("/orders", json=order_body(event, 1)).json()
    assert pay(client, first)["outcome"] == "paid"
    with sessions() as s, s.begin():
        s.execute(
            update(Order)
            .where(Order.id == second["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    third = client.post("/orders", json=order_body(event, 1))
    assert third.status_code == 201, third.text
    assert read_order(client, second)["state"] == "expired"
    assert read_order(client, first)["state"] == "paid"
    assert client.get("/health").json()["database"] == "sqlite"
