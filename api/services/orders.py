"""Orders: creation with a reservation, the state machine, reading.

Every state change goes through :func:`transition`, which checks the move is allowed, appends the
history line and moves seats when the order stops (or starts again) holding them. Callers lock the
order row first (:func:`locked_order`) so concurrent webhooks, sweeps and workers serialize.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
import weakref
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, ClassVar, NamedTuple

import psycopg
from sqlalchemy import Connection, Engine, select, text, update
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from api.errors import InvalidRequest, InvalidState, SoldOut
from api.models import Event, EventState, Order, OrderEvent, OrderState, Tier, utcnow
from api.payments.base import PaymentIntent, PaymentProvider
from api.payments.local import PENDING
from api.schemas import OrderCreate
from api.security import new_order_token, opens_order
from api.services.notifications import MAIL_OF_STATE, enqueue
from api.services.reservations import expire_reservations, release_seats, take_seats
from fairgate.errors import NotFound
from fairgate.logs import REQUEST_ID
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
    # a chargeback after a cancellation: the given-away tickets not funded yet are revoked too
    S.REVOKED: frozenset({S.REVOKING}),
}
#: Before minting, these states hold seats in Tier.taken.
PRE_MINT_HOLDING = frozenset({S.RESERVED, S.PAID, S.MINTING})


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
    mail = MAIL_OF_STATE.get(to)
    if mail is not None:  # the fan's e-mail, in this same transaction (the outbox)
        enqueue(session.connection(), [(order.id, mail)], now)


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


@dataclass(frozen=True, slots=True)
class CreatedOrder:
    """A new order, as plain values (no ORM instance: building one cost more than the rest of
    the fast path's Python). Its state is ``reserved``; its one history line says ``reason``.
    Until its payment session is open (:func:`_open_payment`), ``intent`` is a placeholder
    holding the reference the reservation wrote (empty when the provider had none yet)."""

    id: str
    event_id: int
    tier_id: int
    quantity: int
    amount_cents: int
    currency: str
    wallet: str | None  # None: custody
    payment_ref: str
    expires_at: datetime
    created_at: datetime
    reason: str
    token: str
    intent: PaymentIntent
    email: str = ""


def check_order(settings: Settings, request: OrderCreate) -> None:
    """What the request model cannot check alone: the per-order limit, one commitment a ticket."""
    if request.quantity > settings.max_tickets_per_order:
        raise InvalidRequest(f"at most {settings.max_tickets_per_order} tickets per order")
    if len(request.commitments) != request.quantity:
        raise InvalidRequest("give exactly one holder commitment per ticket")


# One order path for every provider:
#
# 1. reserve: seats, order, history (and the local provider's payment row) in one statement
#    under the tier's row lock: on PostgreSQL grouped with concurrent orders of the tier
#    (:class:`GroupCommit`), else (SQLite, and every refusal, to say why) the general path;
# 2. open the payment session (:meth:`PaymentProvider.create_payment_async`): committed, with no
#    lock held, however long the provider takes (a card processor's round trip);
# 3. record its reference on the order when the reservation could not know it (Stripe).
#
# Guarantees: seats are taken only by the reservation's conditional UPDATE (no oversell); an
# order whose session cannot be opened is declined and its seats returned at once; one whose
# process dies before its session opened keeps no payment and expires like any reservation
# (the worker's sweep); the provider's session is idempotent per order id (Stripe's
# idempotency key), so a retried open never charges twice.


def create_order(
    session: Session, provider: PaymentProvider, settings: Settings, request: OrderCreate
) -> CreatedOrder:
    """Reserve seats, then open the payment (synchronous form: CLI, scripts, tests; the API's
    route uses :func:`create_order_async`). Commits."""
    check_order(settings, request)
    created = None
    if (
        session.get_bind().dialect.name == "postgresql"
        and not session.in_transaction()  # autocommit needs a connection of its own
    ):
        created = _reserve_fast(session, provider, settings, request)
    if created is None:
        created = create_order_general(session, provider, settings, request)
    try:
        intent = provider.create_payment(
            session, order_id=created.id, amount_cents=created.amount_cents,
            currency=created.currency, email=created.email,
        )  # fmt: skip
    except Exception:
        _decline_unopened(session, created.id)
        raise
    if intent.ref != created.payment_ref:
        session.execute(update(Order).where(Order.id == created.id).values(payment_ref=intent.ref))
        session.commit()
    return replace(created, payment_ref=intent.ref, intent=intent)


def _decline_unopened(session: Session, order_id: str) -> None:
    """The payment session could not be opened: decline the order, its seats back on sale."""
    session.rollback()
    locked = locked_order(session, order_id=order_id)
    if locked is not None and locked.state == S.RESERVED:
        transition(session, locked, S.DECLINED, "payment provider unavailable")
    session.commit()


def create_order_general(
    session: Session, provider: PaymentProvider, settings: Settings, request: OrderCreate
) -> CreatedOrder:
    """The reservation on any database: one SELECT, the INSERTs, then the seat UPDATE, then
    COMMIT: the tier's row lock (which every buyer of the tier queues on) is held only for the
    UPDATE and the COMMIT. It also tells apart why a reservation failed (unknown tier, event not
    on sale, sold out) and sweeps expired reservations before answering sold out. ``request``
    has passed :func:`check_order`. The payment session is the caller's next step.
    """
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
        state=S.RESERVED,
        amount_cents=row.price_cents * request.quantity,
        currency=settings.currency,
        provider=provider.name,
        expires_at=now + timedelta(seconds=settings.reservation_ttl_s),
        created_at=now,
        updated_at=now,
        request_id=REQUEST_ID.get(),
    )

    def stage() -> OrderEvent:
        """Add the rows (again, after a rollback: a fresh history row, its id is not reusable)."""
        entry = OrderEvent(
            order_id=order_id,
            from_state=None,
            to_state=S.RESERVED,
            at=now,
            reason=f"{request.quantity} seat(s) reserved",
        )
        session.add_all([order, entry])
        session.flush()  # the order first: the provider's rows may refer to it
        order.payment_ref = provider.reserve_payment(
            session, order_id=order_id, amount_cents=order.amount_cents, currency=order.currency
        )
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
    ref = order.payment_ref or ""
    return CreatedOrder(
        id=order_id, event_id=order.event_id, tier_id=order.tier_id, quantity=order.quantity,
        amount_cents=order.amount_cents, currency=order.currency, wallet=order.wallet,
        payment_ref=ref, expires_at=order.expires_at, created_at=now, reason=first.reason,
        token=token, intent=PaymentIntent(ref=ref), email=request.email,
    )  # fmt: skip


#: per engine (database), tier -> (event, price in cents): neither ever changes once created
class TierPrice(NamedTuple):
    """What an order needs of its tier before it reserves: its event and card price."""

    event_id: int
    price_cents: int


_TIER_PRICES: weakref.WeakKeyDictionary[Engine, dict[int, TierPrice]] = weakref.WeakKeyDictionary()

_RESERVE_CTES = """
    WITH seat AS (
        UPDATE tiers SET taken = taken + :quantity
        WHERE id = :tier_id AND event_id = :event_id AND taken + eth_minted + :quantity <= supply
          AND EXISTS (SELECT 1 FROM events WHERE events.id = :event_id AND events.state = 'active')
        RETURNING id
    ), new_order AS (
        INSERT INTO orders (id, event_id, tier_id, quantity, email, wallet, commitments, token_hash,
            state, amount_cents, currency, provider, payment_ref, provider_refunded,
            expires_at, mint_attempts, created_at, updated_at, request_id)
        SELECT :id, :event_id, :tier_id, :quantity, :email, :wallet, CAST(:commitments AS JSON),
            :token_hash, 'reserved', :amount_cents, :currency, :provider, :payment_ref,
            false, :expires_at, 0, :now, :now, :request_id
        FROM seat
        RETURNING id
    ), history AS (
        INSERT INTO order_events (order_id, from_state, to_state, reason, at)
        SELECT id, NULL, 'reserved', :reason, :now FROM new_order
    )"""
_LOCAL_PAYMENT_CTE = """, payment AS (
        INSERT INTO local_payments (id, order_id, amount_cents, currency, status, refunded_cents,
            created_at)
        SELECT :payment_ref, id, :amount_cents, :currency, :payment_status, 0, :now FROM new_order
    )"""
#: the reservation, for providers whose payments live elsewhere (Stripe), and for the local one
_RESERVE_PG = text(_RESERVE_CTES + "\n    SELECT id FROM new_order\n")  # noqa: S608 - constants
_RESERVE_PG_LOCAL = text(
    _RESERVE_CTES + _LOCAL_PAYMENT_CTE + "\n    SELECT id FROM new_order\n"  # noqa: S608
)
#: the payment session's reference, once it is open (providers that cannot name it in advance)
_RECORD_REF_PG = text("UPDATE orders SET payment_ref = :payment_ref WHERE id = :id RETURNING id")


def _tier_price(engine: Engine, tier_id: int) -> TierPrice | None:
    """A tier's event and price in cents, cached per process (neither ever changes)."""
    prices = _TIER_PRICES.get(engine)
    if prices is None:
        prices = _TIER_PRICES[engine] = {}
    cached = prices.get(tier_id)
    if cached is None:
        with engine.connect() as connection:
            row = connection.execute(
                select(Tier.event_id, Tier.price_cents).where(Tier.id == tier_id)
            ).first()
        if row is None:
            return None
        cached = prices[tier_id] = TierPrice(int(row.event_id), int(row.price_cents))
    return cached


def _prepare(
    provider: PaymentProvider, settings: Settings, request: OrderCreate, price: int
) -> tuple[dict[str, Any], CreatedOrder]:
    """The statement's parameters and the order as it will be once the statement has run."""
    order_id = uuid.uuid4().hex
    token, token_hash = new_order_token()
    now = utcnow()
    amount = price * request.quantity
    ref = provider.reserved_ref(order_id)
    commitments = [f"0x{c:064x}" for c in request.commitment_ints()]
    reason = f"{request.quantity} seat(s) reserved"
    wallet = None if request.wallet == "custody" else request.wallet
    expires_at = now + timedelta(seconds=settings.reservation_ttl_s)
    values = {
        "id": order_id, "event_id": request.event_id, "tier_id": request.tier_id,
        "quantity": request.quantity, "email": request.email, "wallet": wallet,
        "commitments": json.dumps(commitments), "token_hash": token_hash,
        "amount_cents": amount, "currency": settings.currency, "provider": provider.name,
        "payment_ref": ref, "payment_status": PENDING, "expires_at": expires_at,
        "now": now, "reason": reason, "request_id": REQUEST_ID.get(),
    }  # fmt: skip
    created = CreatedOrder(
        id=order_id, event_id=request.event_id, tier_id=request.tier_id,
        quantity=request.quantity, amount_cents=amount, currency=settings.currency, wallet=wallet,
        payment_ref=ref or "", expires_at=expires_at, created_at=now, reason=reason, token=token,
        intent=PaymentIntent(ref=ref or ""), email=request.email,
    )  # fmt: skip
    return values, created


def _reserve_fast(
    session: Session, provider: PaymentProvider, settings: Settings, request: OrderCreate
) -> CreatedOrder | None:
    """Seats, order, history (and the local payment) in ONE autocommitted PostgreSQL statement
    (data-modifying CTEs): a single round trip after the connection's checkout, and the tier's
    row lock, which every buyer of the tier queues on, is held only while PostgreSQL runs that
    statement and commits it (no client round trip, no Python, inside the lock).

    The statement is atomic on its own: when the seat UPDATE matches nothing (sold out, event
    not on sale, wrong event), nothing is written and this returns None; the general path then
    says why (and sweeps expired reservations).
    """
    tier = _tier_price(session.get_bind().engine, request.tier_id)
    if tier is None or tier.event_id != request.event_id:
        return None
    values, created = _prepare(provider, settings, request, tier.price_cents)
    # autocommit: the statement is its own transaction (no BEGIN, no COMMIT round trips); the
    # connection is handed back to the pool in its default mode when the session closes
    connection = session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    statement = _RESERVE_PG_LOCAL if provider.offline else _RESERVE_PG
    reserved = connection.execute(statement, values).first() is not None
    session.rollback()  # ends the session's (empty) transaction: returns the connection
    return created if reserved else None


async def create_order_async(
    sessions: sessionmaker[Session],
    provider: PaymentProvider,
    settings: Settings,
    request: OrderCreate,
) -> CreatedOrder:
    """:func:`create_order` for the event loop (the API's route), for every provider: on
    PostgreSQL (psycopg) the reservation goes through the tier's :class:`GroupCommit`, with no
    thread hop and no session per order; anything else, and every refusal, runs
    :func:`create_order_general` in the thread pool, in a session of its own. Then the payment
    session opens on the event loop, with no lock held (:func:`_open_payment`)."""
    check_order(settings, request)
    engine = sessions.kw.get("bind")
    created = None
    group = None
    if isinstance(engine, Engine) and engine.dialect.driver == "psycopg":
        prices = _TIER_PRICES.get(engine)
        tier = prices.get(request.tier_id) if prices is not None else None
        if tier is None:
            tier = await run_in_threadpool(_tier_price, engine, request.tier_id)
        if tier is not None and tier.event_id == request.event_id:
            values, prepared = _prepare(provider, settings, request, tier.price_cents)
            group = GroupCommit.of(engine)
            if await group.reserve(values, local_payment=provider.offline):
                created = prepared
    if created is None:
        created = await run_in_threadpool(_create_general, sessions, provider, settings, request)
    return await _open_payment(sessions, group, provider, created)


async def _open_payment(
    sessions: sessionmaker[Session],
    group: GroupCommit | None,
    provider: PaymentProvider,
    created: CreatedOrder,
) -> CreatedOrder:
    """Step 2 and 3 of an order (see above): the reservation has committed, no lock is held."""
    try:
        intent = await provider.create_payment_async(
            order_id=created.id, amount_cents=created.amount_cents, currency=created.currency,
            email=created.email,
        )  # fmt: skip
    except Exception:
        await run_in_threadpool(_decline_in_session, sessions, created.id)
        raise
    if intent.ref != created.payment_ref:
        values = {"id": created.id, "payment_ref": intent.ref}
        if group is not None:
            recorded = await group.record_ref(values)
        else:
            recorded = await run_in_threadpool(_record_ref_in_session, sessions, values)
        if not recorded:  # cannot happen: the order's row is never deleted
            log.error("order %s: no row to record its payment %s on", created.id, intent.ref)
    return replace(created, payment_ref=intent.ref, intent=intent)


def _decline_in_session(sessions: sessionmaker[Session], order_id: str) -> None:
    with sessions() as session:
        _decline_unopened(session, order_id)


def _record_ref_in_session(sessions: sessionmaker[Session], values: dict[str, str]) -> bool:
    with sessions() as session:
        done = session.execute(
            update(Order)
            .where(Order.id == values["id"])
            .values(payment_ref=values["payment_ref"])
            .returning(Order.id)
        ).first()
        session.commit()
        return done is not None


def _create_general(
    sessions: sessionmaker[Session],
    provider: PaymentProvider,
    settings: Settings,
    request: OrderCreate,
) -> CreatedOrder:
    with sessions() as session:
        return create_order_general(session, provider, settings, request)


_Registry = weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Engine, "GroupCommit"]]


class GroupCommit:
    """Group commit of the fast path's reservations, per tier, for one engine and event loop.

    Every order of a tier takes that tier's row lock, and keeps it until its transaction's
    COMMIT has reached the disk: one at a time, orders of a tier wait on each other's WAL flush.
    So orders that arrive while their tier's batch is in the database wait, and go together in
    the next batch: one transaction, one pipelined round trip (BEGIN, the reservation statement
    once per order, COMMIT), one WAL flush and one lock window for all of them, and one thread
    hop. Each order is still its own all-or-nothing statement with its own seat check, run in
    arrival order under the lock: the outcome is the same as one transaction per order.

    A batch holds one tier's lock only, as a single order does, so batches cannot deadlock
    with anything a single order could not. When PostgreSQL refuses a statement, the whole
    transaction is rolled back and the batch's orders are retried one by one (autocommit), so a
    bad order fails alone. A lost connection fails the batch's orders, as it would fail one.

    The payment references of open sessions (:meth:`record_ref`) are grouped the same way, in a
    lane of their own: each touches only its own new order's row.
    """

    MAX_BATCH = 64

    _registry: ClassVar[_Registry] = weakref.WeakKeyDictionary()

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sql = {
            name: str(statement.compile(dialect=engine.dialect))
            for name, statement in (
                ("reserve", _RESERVE_PG),
                ("reserve_local", _RESERVE_PG_LOCAL),
                ("record_ref", _RECORD_REF_PG),
            )
        }
        # lane (statement, tier) -> the orders waiting for the lane's next batch
        self._waiting: dict[tuple[str, int], list[tuple[dict[str, Any], asyncio.Future[bool]]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()  # the running batches (strong references)

    @classmethod
    def of(cls, engine: Engine) -> GroupCommit:
        """The group commit of ``engine`` on the running event loop."""
        groups = cls._registry.setdefault(asyncio.get_running_loop(), {})
        group = groups.get(engine)
        if group is None:
            group = groups[engine] = cls(engine)
        return group

    async def reserve(self, values: dict[str, Any], *, local_payment: bool = True) -> bool:
        """Run the reservation statement with ``values`` (with the local provider's payment row
        when ``local_payment``); True when it reserved the seats."""
        statement = "reserve_local" if local_payment else "reserve"
        return await self._submit((statement, int(values["tier_id"])), values)

    async def record_ref(self, values: dict[str, Any]) -> bool:
        """Record ``values["payment_ref"]`` on order ``values["id"]``; True when recorded."""
        return await self._submit(("record_ref", 0), values)

    async def _submit(self, lane: tuple[str, int], values: dict[str, Any]) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        queue = self._waiting.get(lane)
        if queue is not None:  # a batch of this lane is in the database: join the next one
            queue.append((values, future))
        else:
            self._waiting[lane] = [(values, future)]
            task = asyncio.create_task(self._drain(lane))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _drain(self, lane: tuple[str, int]) -> None:
        queue = self._waiting[lane]
        sql = self._sql[lane[0]]
        batch: list[tuple[dict[str, Any], asyncio.Future[bool]]] = []
        # one pooled connection for this run of batches: checked out (and pinged) once, given
        # back as soon as no order waits; it is idle between batches (autocommit, no transaction)
        connection: Connection | None = None
        in_thread = False
        try:
            while queue:
                batch, queue[:] = queue[: self.MAX_BATCH], queue[self.MAX_BATCH :]
                try:
                    in_thread = True
                    connection, results = await run_in_threadpool(
                        self._run, connection, sql, [v for v, _ in batch]
                    )
                    in_thread = False
                except Exception as exc:
                    in_thread = False
                    connection = None  # _run has discarded it
                    results = [exc] * len(batch)
                for (_, future), result in zip(batch, results, strict=True):
                    if future.done():  # the request was cancelled meanwhile
                        continue
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            del self._waiting[lane]
            if connection is not None and not in_thread:
                connection.close()  # back to the pool: no I/O, it is outside any transaction
            for _, future in batch + queue:  # left undone only when cancelled (shutdown)
                if not future.done():
                    future.cancel()

    def _run(
        self, connection: Connection | None, sql: str, batch: list[dict[str, Any]]
    ) -> tuple[Connection, list[bool | Exception]]:
        """The batch in one transaction (in a worker thread): for each order, True when it was
        reserved, False when not, or the error PostgreSQL refused it with. Checks a connection
        out (autocommit) when not given one; returns the connection to use next."""
        if connection is None:
            connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        driver: Any = connection.connection.driver_connection  # psycopg.Connection
        try:
            if len(batch) == 1:  # alone: the statement is its own transaction
                return connection, [self._one(driver, sql, batch[0])]
            try:
                return connection, self._together(driver, sql, batch)
            except psycopg.Error as exc:
                if exc.sqlstate is None or driver.closed:  # not refused by PostgreSQL
                    raise
                driver.execute("ROLLBACK")  # nothing of the batch was committed
                log.warning("reservation batch refused (%s): its orders one by one", exc)
                return connection, [self._one(driver, sql, values) for values in batch]
        except BaseException:
            connection.invalidate()  # its state is unknown: never reuse it
            connection.close()
            raise

    def _together(
        self, driver: Any, sql: str, batch: list[dict[str, Any]]
    ) -> list[bool | Exception]:
        """BEGIN, the statement once per order, COMMIT: one pipelined round trip."""
        cursor = driver.cursor()
        with driver.pipeline():
            driver.execute("BEGIN")
            cursor.executemany(sql, batch, returning=True)
            driver.execute("COMMIT")
        results: list[bool | Exception] = []
        while True:
            results.append(cursor.fetchone() is not None)
            if not cursor.nextset():
                return results

    def _one(self, driver: Any, sql: str, values: dict[str, Any]) -> bool | Exception:
        """One order, its own transaction; PostgreSQL's refusal is returned, not raised."""
        try:
            return driver.execute(sql, values).fetchone() is not None
        except psycopg.Error as exc:
            if exc.sqlstate is None or driver.closed:
                raise
            return exc


def order_for_token(
    session: Session, order_id: str, token: str | None, *, link_secret: bytes | None = None
) -> Order:
    """The order if ``token`` is its order token, or with ``link_secret`` its claim link's
    (:func:`api.security.claim_link_token`); NotFound otherwise (no hint which was wrong)."""
    order = session.get(Order, order_id)
    if (
        order is None
        or token is None
        or not opens_order(token, order.token_hash, order_id, link_secret)
    ):
        raise NotFound("no such order, or the order token does not match")
    return order
