"""Orders: creation with a reservation, the state machine, reading.

Every state change goes through :func:`transition`, which checks the move is allowed, appends the
history line and moves seats when the order stops (or starts again) holding them. Callers lock the
order row first (:func:`locked_order`) so concurrent webhooks, sweeps and workers serialize.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from api.errors import InvalidRequest, InvalidState, SoldOut
from api.models import Event, EventState, Order, OrderEvent, OrderState, Tier, utcnow
from api.payments.base import PaymentIntent, PaymentProvider
from api.payments.local import PENDING, LocalProvider
from api.schemas import OrderCreate
from api.security import new_order_token, same_hash
from api.services.reservations import expire_reservations, release_seats, take_seats
from fairgate.errors import NotFound
from fairgate.settings import Settings

log = logging.getLogger(__name__)
S = OrderState

ALLOWED: dict[OrderState, frozenset[OrderState]] = {
    S.RESERVED: frozenset({S.PAID, S.DECLINED, S.EXPIRED, S.CANCELLED, S.REFUNDED}),
    S.DECLINED: frozenset({S.PAID, S.REFUND_PENDING}),  # a later success (retried card)
    S.EXPIRED: frozenset({S.PAID, S.REFUND_PENDING}),  # paid after the reservation ran out
    S.CANCELLED: frozenset({S.REFUND_PENDING}),  # paid after the event was cancelled
    S.PAID: frozenset({S.MINTING, S.REFUND_PENDING, S.REFUNDED}),
    S.MINTING: frozenset({S.PAID, S.MINTED, S.REFUND_PENDING}),
    S.MINTED: frozenset({S.REFUND_PENDING, S.REVOKING}),
    S.REFUND_PENDING: frozenset({S.REFUNDED, S.REVOKING}),
    S.REVOKING: frozenset({S.REVOKED}),
    S.REFUNDED: frozenset(),
    S.REVOKED: frozenset(),
}
#: Before minting, these states hold seats in Tier.taken.
PRE_MINT_HOLDING = frozenset({S.RESERVED, S.PAID, S.MINTING})


def order_ref(order_id: str) -> str:
    """The order's bytes32 reference on-chain (non-zero, so the contract mints it once)."""
    return "0x" + hashlib.sha256(b"fairgate-order:" + order_id.encode()).hexdigest()


def transition(session: Session, order: Order, to: OrderState, reason: str = "") -> None:
    current = OrderState(order.state)
    if to not in ALLOWED[current]:
        raise InvalidState(f"order cannot go from {current} to {to}")
    if current in PRE_MINT_HOLDING and to not in PRE_MINT_HOLDING | {S.MINTED}:
        release_seats(session, order.tier_id, order.quantity)
    now = utcnow()
    session.add(
        OrderEvent(order_id=order.id, from_state=current, to_state=to, reason=reason, at=now)
    )
    order.state = to
    order.updated_at = now
    if to is S.PAID:
        order.paid_at = now


def locked_order(
    session: Session, *, order_id: str | None = None, payment_ref: str | None = None
) -> Order | None:
    query = select(Order).with_for_update()
    query = (
        query.where(Order.id == order_id)
        if order_id
        else query.where(Order.payment_ref == payment_ref)
    )
    return session.scalar(query.execution_options(populate_existing=True))


@dataclass(frozen=True)
class CreatedOrder:
    order: Order
    token: str
    intent: PaymentIntent
    history: OrderEvent


def create_order(
    session: Session, provider: PaymentProvider, settings: Settings, request: OrderCreate
) -> CreatedOrder:
    """Reserve seats and open the payment. Commits (twice for online providers).

    On PostgreSQL with the local provider, :func:`_reserve_fast` does it in one statement. The
    general path below is one SELECT, the INSERTs, then the seat UPDATE, then COMMIT: the tier's
    row lock (which every buyer of the tier queues on) is held only for the UPDATE and the COMMIT.
    It also tells apart why a reservation failed (unknown tier, event not on sale, sold out) and
    sweeps expired reservations before answering sold out.
    """
    if request.quantity > settings.max_tickets_per_order:
        raise InvalidRequest(f"at most {settings.max_tickets_per_order} tickets per order")
    if len(request.commitments) != request.quantity:
        raise InvalidRequest("give exactly one holder commitment per ticket")
    if isinstance(provider, LocalProvider) and session.get_bind().dialect.name == "postgresql":
        created = _reserve_fast(session, provider, settings, request)
        if created is not None:
            return created
    row = session.execute(
        select(Tier.event_id, Tier.price_cents, Event.state)
        .join(Event, Event.id == Tier.event_id)
        .where(Tier.id == request.tier_id)
    ).first()
    if row is None or row.event_id != request.event_id:
        raise NotFound("no such tier in this event")
    if row.state != EventState.ACTIVE:
        raise InvalidState("this event is not on sale")
    order_id = uuid.uuid4().hex
    token, token_hash = new_order_token()
    now = utcnow()
    order = Order(
        id=order_id,
        event_id=request.event_id,
        tier_id=request.tier_id,
        quantity=request.quantity,
        email=request.email,
        wallet=None if request.wallet == "custody" else request.wallet,
        commitments=[f"0x{c:064x}" for c in request.commitment_ints()],
        token_hash=token_hash,
        order_ref=order_ref(order_id),
        state=S.RESERVED,
        amount_cents=row.price_cents * request.quantity,
        currency=settings.currency,
        provider=provider.name,
        expires_at=now + timedelta(seconds=settings.reservation_ttl_s),
        created_at=now,
        updated_at=now,
    )
    intent: PaymentIntent | None = None

    def stage() -> OrderEvent:
        """Add the rows (again, after a rollback: a fresh history row, its id is not reusable)."""
        nonlocal intent
        entry = OrderEvent(
            order_id=order_id,
            from_state=None,
            to_state=S.RESERVED,
            at=now,
            reason=f"{request.quantity} seat(s) reserved",
        )
        session.add_all([order, entry])
        if provider.offline:
            intent = provider.create_payment(
                session,
                order_id=order_id,
                amount_cents=order.amount_cents,
                currency=order.currency,
                email=order.email,
            )
            order.payment_ref = intent.ref
        session.flush()
        return entry

    first = stage()
    if not take_seats(session, request.tier_id, request.quantity):
        session.rollback()
        expired = expire_reservations(session, tier_id=request.tier_id)
        session.commit()  # keep the expirations the sweep found
        if not expired:
            raise SoldOut("not enough seats left in this tier")
        first = stage()
        if not take_seats(session, request.tier_id, request.quantity):
            session.rollback()
            raise SoldOut("not enough seats left in this tier")
    session.commit()
    if intent is None:  # an online provider: never hold a row lock across its network call
        try:
            intent = provider.create_payment(
                session,
                order_id=order_id,
                amount_cents=order.amount_cents,
                currency=order.currency,
                email=order.email,
            )
        except Exception:
            locked = locked_order(session, order_id=order_id)
            if locked is not None and locked.state == S.RESERVED:
                transition(session, locked, S.DECLINED, "payment provider unavailable")
            session.commit()
            raise
        locked = locked_order(session, order_id=order_id)
        assert locked is not None
        locked.payment_ref = intent.ref
        session.commit()
    return CreatedOrder(order=order, token=token, intent=intent, history=first)


_TIER_PRICES: dict[tuple[str, int], tuple[int, int]] = {}  # (db url, tier) -> (event, price)

_RESERVE_PG = text(
    """
    WITH seat AS (
        UPDATE tiers SET taken = taken + :quantity
        WHERE id = :tier_id AND event_id = :event_id AND taken + eth_minted + :quantity <= supply
          AND EXISTS (SELECT 1 FROM events WHERE events.id = :event_id AND events.state = 'active')
        RETURNING id
    ), new_order AS (
        INSERT INTO orders (id, event_id, tier_id, quantity, email, wallet, commitments, token_hash,
            order_ref, state, amount_cents, currency, provider, payment_ref, provider_refunded,
            expires_at, mint_attempts, created_at, updated_at)
        SELECT :id, :event_id, :tier_id, :quantity, :email, :wallet, CAST(:commitments AS JSON),
            :token_hash, :order_ref, 'reserved', :amount_cents, :currency, :provider, :payment_ref,
            false, :expires_at, 0, :now, :now
        FROM seat
        RETURNING id
    ), history AS (
        INSERT INTO order_events (order_id, from_state, to_state, reason, at)
        SELECT id, NULL, 'reserved', :reason, :now FROM new_order
    ), payment AS (
        INSERT INTO local_payments (id, order_id, amount_cents, currency, status, refunded_cents,
            created_at)
        SELECT :payment_ref, id, :amount_cents, :currency, :payment_status, 0, :now FROM new_order
    )
    SELECT id FROM new_order
    """
)


def _reserve_fast(
    session: Session, provider: LocalProvider, settings: Settings, request: OrderCreate
) -> CreatedOrder | None:
    """Seats, order, history and the local payment in ONE autocommitted PostgreSQL statement
    (data-modifying CTEs): a single round trip after the connection's checkout, and the tier's
    row lock, which every buyer of the tier queues on, is held only while PostgreSQL runs that
    statement and commits it (no client round trip, no Python, inside the lock).

    The statement is atomic on its own: when the seat UPDATE matches nothing (sold out, event
    not on sale, wrong event), nothing is written and this returns None; the general path then
    says why (and sweeps expired reservations). A tier's event and price never change after
    creation, so they are cached per process.
    """
    key = (str(session.get_bind().engine.url), request.tier_id)
    cached = _TIER_PRICES.get(key)
    if cached is None:
        row = session.execute(
            select(Tier.event_id, Tier.price_cents).where(Tier.id == request.tier_id)
        ).first()
        session.rollback()
        if row is None:
            return None
        cached = _TIER_PRICES[key] = (int(row.event_id), int(row.price_cents))
    event_id, price = cached
    if event_id != request.event_id:
        return None
    order_id = uuid.uuid4().hex
    token, token_hash = new_order_token()
    now = utcnow()
    amount = price * request.quantity
    intent = provider.intent_for(order_id)
    commitments = [f"0x{c:064x}" for c in request.commitment_ints()]
    reason = f"{request.quantity} seat(s) reserved"
    values = {
        "id": order_id, "event_id": event_id, "tier_id": request.tier_id,
        "quantity": request.quantity, "email": request.email,
        "wallet": None if request.wallet == "custody" else request.wallet,
        "commitments": json.dumps(commitments), "token_hash": token_hash,
        "order_ref": order_ref(order_id), "amount_cents": amount, "currency": settings.currency,
        "provider": provider.name, "payment_ref": intent.ref, "payment_status": PENDING,
        "expires_at": now + timedelta(seconds=settings.reservation_ttl_s), "now": now,
        "reason": reason,
    }  # fmt: skip
    # autocommit: the statement is its own transaction (no BEGIN, no COMMIT round trips); the
    # connection is handed back to the pool in its default mode when the session closes
    connection = session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    reserved = connection.execute(_RESERVE_PG, values).first() is not None
    session.rollback()  # ends the session's (empty) transaction: returns the connection
    if not reserved:
        return None
    order = Order(
        id=order_id, event_id=event_id, tier_id=request.tier_id, quantity=request.quantity,
        email=request.email, wallet=values["wallet"], commitments=commitments,
        token_hash=token_hash, order_ref=values["order_ref"], state=S.RESERVED,
        amount_cents=amount, currency=settings.currency, provider=provider.name,
        payment_ref=intent.ref, expires_at=values["expires_at"], created_at=now, updated_at=now,
        provider_refunded=False, mint_attempts=0,
    )  # fmt: skip
    first = OrderEvent(
        order_id=order_id, from_state=None, to_state=S.RESERVED, at=now, reason=reason
    )
    return CreatedOrder(order=order, token=token, intent=intent, history=first)


def order_for_token(session: Session, order_id: str, token: str | None) -> Order:
    """The order if ``token`` is its order token; NotFound otherwise (no hint which was wrong)."""
    order = session.get(Order, order_id)
    if order is None or token is None or not same_hash(token, order.token_hash):
        raise NotFound("no such order, or the order token does not match")
    return order
