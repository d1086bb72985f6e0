"""One order path for every payment provider (api.services.orders): the grouped reservation
first, for Stripe as for the local provider, then the payment session, opened after the
reservation committed and with no seat lock held; the guarantees stay: no oversell, a session
that cannot open declines the order and returns its seats, a reservation whose session never
opened expires, and the session is idempotent per order.

Stripe is played by scripts/stripe_fake.py (no Stripe-compatible server installs here).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from api_helpers import free_port, order_body
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.errors import SoldOut
from api.models import Event, LocalPayment, Order, OrderEvent, Organizer, Tier
from api.payments.base import PaymentIntent, PaymentProvider
from api.payments.local import LocalProvider
from api.payments.stripe import StripeProvider
from api.schemas import OrderCreate
from api.services import orders
from api.services.reservations import expire_reservations
from fairgate.errors import PaymentError
from fairgate.settings import PROJECT_ROOT, Settings

pytestmark = [pytest.mark.postgres, pytest.mark.ganache]


@pytest.fixture(scope="module")
def stripe_fake() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "scripts/stripe_fake.py", "--port", str(port)], cwd=PROJECT_ROOT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(url + "/calls", timeout=1)
                break
            except httpx.HTTPError:
                threading.Event().wait(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def calls(url: str) -> dict[str, Any]:
    return httpx.get(url + "/calls").json()  # type: ignore[no-any-return]


def stripe(url: str) -> StripeProvider:
    return StripeProvider("sk_test_x", "whsec_x", base_url=url, max_network_retries=0)


def tier_of(db: sessionmaker[Session], supply: int) -> dict[str, Any]:
    """An event on sale with one tier, straight in the database (order_body's shape)."""
    now = datetime.now(UTC)
    with db() as s:
        organizer = Organizer(name="Direct")
        s.add(organizer)
        s.flush()
        event = Event(
            organizer_id=organizer.id, name="Direct", symbol="DIR", state="active",
            starts_at=now + timedelta(days=3), ends_at=now + timedelta(days=4),
        )  # fmt: skip
        s.add(event)
        s.flush()
        tier = Tier(
            event_id=event.id, tier_index=0, name="GA", price_cents=2500, face_value_wei="1",
            supply=supply, resale_cap_bps=10000, royalty_bps=0, resale_opens_at=0,
            resale_closes_at=0,
        )  # fmt: skip
        s.add(tier)
        s.commit()
        return {"id": event.id, "tiers": [{"id": tier.id}]}


def order_all(
    engine: Engine, provider: PaymentProvider, settings: Settings, bodies: list[dict[str, Any]]
) -> list[Any]:
    """Every order at once on one event loop, as the route does (the grouped path)."""
    sessions = sessionmaker(bind=engine, expire_on_commit=False)

    async def run() -> list[Any]:
        return await asyncio.gather(
            *(
                orders.create_order_async(sessions, provider, settings, OrderCreate(**b))
                for b in bodies
            ),
            return_exceptions=True,
        )

    return asyncio.run(run())


def test_stripe_orders_never_oversell_and_each_gets_its_own_session(
    engine: Engine, db: sessionmaker[Session], settings: Settings, stripe_fake: str
) -> None:
    event = tier_of(db, supply=20)
    before = calls(stripe_fake)["intents"]
    results = order_all(engine, stripe(stripe_fake), settings, [order_body(event, 1)] * 30)
    created = [r for r in results if isinstance(r, orders.CreatedOrder)]
    assert len(created) == 20
    assert all(isinstance(r, SoldOut) for r in results if r not in created)
    assert calls(stripe_fake)["intents"] - before == 20  # none for a refused order
    with db() as s:
        assert s.get(Tier, event["tiers"][0]["id"]).taken == 20
        rows = {o.id: o for o in s.scalars(select(Order))}
        assert set(rows) == {c.id for c in created}
        for c in created:
            assert c.payment_ref.startswith("pi_fake_") and c.intent.client_secret
            assert rows[c.id].payment_ref == c.payment_ref and rows[c.id].provider == "stripe"
            assert rows[c.id].state == "reserved"
        assert s.scalar(select(LocalPayment.id).limit(1)) is None


class Probe(PaymentProvider):
    """A provider's session opening, watched: when it starts, is the order's reservation
    committed (seen from another connection), and is the tier's seat lock free?"""

    def __init__(self, inner: PaymentProvider, engine: Engine, tier_id: int) -> None:
        self.inner, self.engine, self.tier_id = inner, engine, tier_id
        self.name, self.offline = inner.name, inner.offline
        self.seen: list[tuple[str | None, Any]] = []

    def reserved_ref(self, order_id: str) -> str | None:
        return self.inner.reserved_ref(order_id)

    def create_payment(self, session: Any, **kw: Any) -> PaymentIntent:
        raise AssertionError("the route's path opens sessions on the event loop")

    def refund(self, session: Session, *, payment_ref: str, order_id: str) -> str:
        raise AssertionError("not used")

    def parse_webhook(self, body: bytes, headers: Any) -> Any:
        raise AssertionError("not used")

    def _look(self, order_id: str) -> None:
        with self.engine.connect() as c, c.begin():
            state = c.execute(
                text("SELECT state FROM orders WHERE id = :id"), {"id": order_id}
            ).scalar()
            lock = c.execute(  # NOWAIT: fails at once if anyone holds the tier's row lock
                text("SELECT taken FROM tiers WHERE id = :id FOR UPDATE NOWAIT"),
                {"id": self.tier_id},
            ).scalar()
        self.seen.append((state, lock))

    async def create_payment_async(self, *, order_id: str, **kw: Any) -> PaymentIntent:
        await asyncio.to_thread(self._look, order_id)
        return await self.inner.create_payment_async(order_id=order_id, **kw)


@pytest.mark.parametrize("kind", ["local", "stripe"])
def test_the_session_opens_after_the_reservation_committed_with_no_seat_lock_held(
    kind: str, engine: Engine, db: sessionmaker[Session], settings: Settings, stripe_fake: str
) -> None:
    event = tier_of(db, supply=10)
    slow = settings.model_copy(update={"local_payment_latency_s": 0.05})
    inner = LocalProvider(slow) if kind == "local" else stripe(stripe_fake)
    probe = Probe(inner, engine, event["tiers"][0]["id"])
    # one order at a time: with others in flight, their reservations may hold the lock
    results = [order_all(engine, probe, slow, [order_body(event, 1)])[0] for _ in range(3)]
    assert all(isinstance(r, orders.CreatedOrder) for r in results), results
    assert len(probe.seen) == 3
    assert all(state == "reserved" for state, _ in probe.seen)  # committed, seen from outside
    assert all(lock is not None for _, lock in probe.seen)  # the seat lock was free
    if kind == "local":
        assert all(r.intent.checkout_url.endswith(r.payment_ref) for r in results)
        with db() as s:
            assert len(list(s.scalars(select(LocalPayment)))) == 3


def test_a_session_that_cannot_open_declines_the_order_and_returns_its_seats(
    engine: Engine, db: sessionmaker[Session], settings: Settings
) -> None:
    event = tier_of(db, supply=5)
    nobody = stripe(f"http://127.0.0.1:{free_port()}")
    [result] = order_all(engine, nobody, settings, [order_body(event, 2)])
    assert isinstance(result, PaymentError) and "could not be reached" in str(result)
    with db() as s:
        [order] = s.scalars(select(Order))
        assert order.state == "declined" and order.payment_ref is None
        assert s.get(Tier, event["tiers"][0]["id"]).taken == 0
        reasons = [h.reason for h in s.scalars(select(OrderEvent).order_by(OrderEvent.id))]
        assert reasons == ["2 seat(s) reserved", "payment provider unavailable"]


def test_a_reservation_whose_session_never_opened_expires(
    engine: Engine, db: sessionmaker[Session], settings: Settings
) -> None:
    """The process died between the reservation and the session (nothing opened, no payment
    reference): the reservation runs out like any other and its seats go back on sale."""
    event = tier_of(db, supply=3)
    values, created = orders._prepare(
        stripe("http://127.0.0.1:9"), settings, OrderCreate(**order_body(event, 3)), 2500
    )

    async def reserve_only() -> bool:
        return await orders.GroupCommit.of(engine).reserve(values, local_payment=False)

    assert asyncio.run(reserve_only())
    with db() as s:
        assert s.get(Tier, event["tiers"][0]["id"]).taken == 3
        s.execute(
            update(Order)
            .where(Order.id == created.id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        s.commit()
        assert expire_reservations(s) == 1
        s.commit()
        assert s.get(Order, created.id).state == "expired"
        assert s.get(Tier, event["tiers"][0]["id"]).taken == 0


def test_the_stripe_session_is_idempotent_per_order(stripe_fake: str) -> None:
    provider = stripe(stripe_fake)

    async def twice() -> list[PaymentIntent]:
        kw = {"order_id": "a" * 32, "amount_cents": 100, "currency": "usd", "email": "f@x.io"}
        return [await provider.create_payment_async(**kw) for _ in range(2)]  # type: ignore[arg-type]

    first, second = asyncio.run(twice())
    assert first == second
    assert "fairgate-order-" + "a" * 32 in calls(stripe_fake)["replayed"]
    sync = provider.create_payment(
        None, order_id="a" * 32, amount_cents=100, currency="usd", email="f@x.io"
    )
    assert sync == first


def test_a_stripe_order_over_http(
    engine: Engine, db: sessionmaker[Session], settings: Settings, stripe_fake: str
) -> None:
    event = tier_of(db, supply=2)
    app = create_app(settings, engine=engine, provider=stripe(stripe_fake), with_chain=False)
    with TestClient(app) as client:
        r = client.post("/orders", json=order_body(event, 2))
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["payment_ref"].startswith("pi_fake_") and body["client_secret"]
        assert body["checkout_url"] is None
        sold_out = client.post("/orders", json=order_body(event, 1))
        assert sold_out.status_code == 409
    with db() as s:
        assert s.get(Order, body["id"]).payment_ref == body["payment_ref"]
