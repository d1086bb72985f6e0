"""Events and tiers: creation (deployed through the factory), the public catalog, sales.

Deployment is synchronous in the request and recorded intent-first: the event row is committed
in state ``deploying`` (with the wallet it goes to) before anything is sent, then every
transaction (clone, roles, hand-over) is committed (hash, nonce, raw bytes) before it is
broadcast, and the clone's address as soon as it is mined. The request holds the event's
deployment lock (:func:`deploy_lock`) throughout; :func:`reconcile_deployments` (the worker, at
start and each round, or ``python -m api.worker --reconcile-only``) takes over events whose owner
died and finishes or fails each exactly once.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

from eth_utils.address import to_checksum_address
from sqlalchemy import CursorResult, Engine, Update, case, func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from api.accounts import BridgeAccounts
from api.errors import InvalidRequest
from api.models import (
    Event,
    EventState,
    Order,
    OrderState,
    Organizer,
    Tier,
    local_time,
    utc_naive,
    utcnow,
)
from api.schemas import ChainCurrencyOut, EventCreate, EventOut, SalesOut, TierOut, TierSales
from chain.deploy import DeployRecord
from chain.erc20 import UnsupportedCurrency, settlement_currency
from chain.errors import DecodedRevert
from chain.sender import SendRefused
from chain.types import ZERO_ADDRESS, Currency, EventParams
from chain.types import Tier as ChainTier
from fairgate.errors import ChainError, TicketError
from fairgate.settings import Settings

log = logging.getLogger(__name__)


def event_out(event: Event, currency: str) -> EventOut:
    """The event as the API shows it; ``currency`` is the bridge's card currency."""
    settlement = event.settlement
    return EventOut(
        id=event.id,
        name=event.name,
        symbol=event.symbol,
        venue=event.venue,
        starts_at=local_time(event.starts_at, event.starts_at_offset_min),
        ends_at=local_time(event.ends_at, event.ends_at_offset_min),
        state=EventState(event.state),
        contract_address=event.contract_address,
        chain_currency=ChainCurrencyOut(
            address=settlement.address, symbol=settlement.symbol, decimals=settlement.decimals
        ),
        tiers=[
            TierOut(
                id=t.id,
                tier_index=t.tier_index,
                name=t.name,
                price_cents=t.price_cents,
                currency=currency,
                face_value=settlement.decimal(int(t.face_value_wei)),
                face_value_wei=t.face_value_wei,
                supply=t.supply,
                remaining=t.remaining,
                resale_cap_bps=t.resale_cap_bps,
                royalty_bps=t.royalty_bps,
            )
            for t in event.tiers
        ],
    )


def public_events(session: Session) -> Sequence[Event]:
    return session.scalars(
        select(Event).where(Event.state == EventState.ACTIVE).order_by(Event.starts_at, Event.id)
    ).all()


#: Test hook: called at each point of a deployment ("intent" once the row is committed,
#: "signed:<step>" after a transaction is recorded and before its broadcast, "mined:<step>" once
#: it is mined; steps: clone, roles:<account>, organizer), e.g. to kill the process there.
DEPLOY_HOOK: Callable[[str], None] | None = None
DEPLOY_NS = "fairgate-deploy:"  # the owner of one event's deployment


def _hook(point: str) -> None:
    if DEPLOY_HOOK is not None:
        DEPLOY_HOOK(point)


@contextmanager
def deploy_lock(engine: Engine, event_id: int) -> Iterator[bool]:
    """Try to own an event's deployment; yields whether it was got.

    PostgreSQL: a session advisory lock on a connection of its own, released by the server when
    the owning process dies, so a lock that can be taken means no live process is deploying it
    (no clocks, no leases). SQLite: an ``flock`` on a file beside the database, which the kernel
    releases the same way (a process-local lock for an in-memory database).
    """
    if engine.dialect.name == "postgresql":
        conn = engine.connect()
        conn.execution_options(isolation_level="AUTOCOMMIT")
        # advisory locks are per database: the schema goes into the key's first half
        ns = "hashtext(:ns || current_schema())"
        args = {"ns": DEPLOY_NS, "key": event_id}
        try:
            got = bool(
                conn.execute(text(f"SELECT pg_try_advisory_lock({ns}, :key)"), args).scalar()
            )
            try:
                yield got
            finally:
                if got:
                    conn.execute(text(f"SELECT pg_advisory_unlock({ns}, :key)"), args)
        finally:
            conn.close()
        return
    database = engine.url.database
    if not database or database == ":memory:":
        with _local_mutex:
            got = event_id not in _local_deploys
            _local_deploys.add(event_id)
        try:
            yield got
        finally:
            if got:
                with _local_mutex:
                    _local_deploys.discard(event_id)
        return
    fd = os.open(f"{database}.deploy-{event_id}.lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # releases the flock


_local_mutex = threading.Lock()
_local_deploys: set[int] = set()


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def _recorder(session: Session, event: Event) -> DeployRecord:
    """Persist each deployment transaction (committed) before the sender broadcasts it."""

    def record(step: str, tx_hash: str, nonce: int, raw: str) -> None:
        entry = {"step": step, "hash": tx_hash, "nonce": nonce, "raw": raw}
        event.deploy_txs = [*(event.deploy_txs or []), entry]
        session.commit()

    return record


def _on_cloned(session: Session, event: Event) -> Callable[[str, int], None]:
    def cloned(address: str, block: int) -> None:
        event.contract_address = address
        event.deploy_block = block
        event.indexed_block = block - 1
        session.commit()

    return cloned


def create_event(
    session: Session, chain: BridgeAccounts, organizer_id: int, request: EventCreate
) -> Event:
    """Create the event row (``deploying``), then deploy it; every transaction is recorded before
    it is broadcast and the clone's address as soon as it is mined, so that
    :func:`reconcile_deployments` can finish (or fail) the event after a crash, exactly once.

    Its currency is checked first (ETH, or a token of 6 or 18 decimals, read from the chain) and
    every face value converted into its smallest unit: a refusal leaves no row behind."""
    currency, face_values = priced_tiers(chain, request)
    account = session.get(Organizer, organizer_id)
    starts, starts_offset = utc_naive(request.starts_at)
    ends, ends_offset = utc_naive(request.ends_at)
    owner = request.organizer_address or (account.payout_address if account else None)
    event = Event(
        organizer_id=organizer_id,
        name=request.name,
        symbol=request.symbol,
        venue=request.venue,
        starts_at=starts,
        starts_at_offset_min=starts_offset,
        ends_at=ends,
        ends_at_offset_min=ends_offset,
        state=EventState.DEPLOYING,
        deploy_owner=to_checksum_address(owner) if owner else None,
        deploy_txs=[],
        chain_currency=None if currency.is_eth else currency.address,
        chain_currency_symbol=None if currency.is_eth else currency.symbol,
        chain_currency_decimals=None if currency.is_eth else currency.decimals,
    )
    session.add(event)
    session.flush()
    for index, t in enumerate(request.tiers):
        session.add(
            Tier(
                event_id=event.id,
                tier_index=index,
                name=t.name,
                price_cents=t.price_cents,
                face_value_wei=str(face_values[index]),
                supply=t.supply,
                resale_cap_bps=t.resale_cap_bps,
                royalty_bps=t.royalty_bps,
                resale_opens_at=t.resale_opens_at,
                resale_closes_at=t.resale_closes_at,
            )
        )
    params = EventParams(
        name=request.name,
        symbol=request.symbol,
        organizer=chain.operator.address,  # until `owner` accepts the operator's proposal
        minter=chain.minter.address,
        gate=request.gate_address or ZERO_ADDRESS,
        base_uri=request.base_uri,
        starts_at=int(request.starts_at.timestamp()),
        ends_at=int(request.ends_at.timestamp()),
        currency=currency.address,
        tiers=tuple(
            ChainTier(
                face_value=face,
                supply=t.supply,
                resale_cap_bps=t.resale_cap_bps,
                royalty_bps=t.royalty_bps,
                resale_opens_at=t.resale_opens_at,
                resale_closes_at=t.resale_closes_at,
            )
            for t, face in zip(request.tiers, face_values, strict=True)
        ),
    )
    # the lock is taken before the row is visible, so no reconciliation can take it over
    with deploy_lock(_engine(session), event.id) as owned:
        if not owned:
            session.rollback()
            raise ChainError(f"event id {event.id} is being deployed by another process")
        session.commit()  # intent first
        _hook("intent")
        try:
            chain.deployer.create_event(
                params,
                hand_to=event.deploy_owner,
                record=_recorder(session, event),
                on_cloned=_on_cloned(session, event),
                hook=_hook,
            )
        except TicketError as exc:
            session.rollback()
            nothing_sent = isinstance(exc, SendRefused | DecodedRevert)
            if event.contract_address is None and nothing_sent:
                # refused or reverted (estimation or receipt): no clone exists, none ever will
                event.state = EventState.FAILED
                event.deploy_error = f"{exc.code}: {exc}"[:2000]
                session.commit()
                log.warning("deploying event %d failed: %s", event.id, exc)
                raise ChainError(f"the event contract could not be deployed: {exc.code}") from None
            event.deploy_error = f"{exc.code}: {exc}"[:2000]
            session.commit()
            log.warning("deploying event %d interrupted, to be reconciled: %s", event.id, exc)
            raise ChainError(
                f"the deployment of event {event.id} did not finish ({exc.code}); "
                "the worker will finish or fail it"
            ) from None
        _activate(session, event)
    session.refresh(event)
    return event


def priced_tiers(chain: BridgeAccounts, request: EventCreate) -> tuple[Currency, list[int]]:
    """The event's settlement currency (checked on the chain) and each tier's face value in its
    smallest unit; InvalidRequest (422) in plain words when either cannot be."""
    currency = _currency(chain, request.chain_currency)
    return currency, _face_values(request, currency)


def _currency(chain: BridgeAccounts, text: str) -> Currency:
    """The event's settlement currency, checked on the chain (422 in plain words otherwise)."""
    try:
        return settlement_currency(chain.w3, text)
    except UnsupportedCurrency as exc:
        raise InvalidRequest(f"chain_currency: {exc}") from None


def _face_values(request: EventCreate, currency: Currency) -> list[int]:
    """Each tier's face value in the smallest unit of ``currency``."""
    values = []
    for index, tier in enumerate(request.tiers):
        if tier.face_value is not None:
            try:
                value = currency.parse(tier.face_value)
            except ValueError as exc:
                raise InvalidRequest(f"tiers.{index}.face_value: {exc}") from None
        else:
            assert tier.face_value_wei is not None  # TierCreate asks for one of the two
            value = tier.face_value_wei
        if value >= 2**96:
            raise InvalidRequest(
                f"tiers.{index}.face_value: {currency.format(value)} is more than a ticket can cost"
            )
        values.append(value)
    return values


def _activate(session: Session, event: Event) -> bool:
    """deploying -> active, once (a conditional UPDATE: whoever comes second changes nothing)."""
    done = _rowcount(
        session,
        update(Event)
        .where(Event.id == event.id, Event.state == EventState.DEPLOYING)
        .values(state=EventState.ACTIVE, deploy_error=None),
    )
    session.commit()
    return bool(done)


def _rowcount(session: Session, statement: Update) -> int:
    result = session.execute(statement)
    return int(cast(CursorResult[Any], result).rowcount)


def _fail(session: Session, event: Event, reason: str) -> bool:
    done = _rowcount(
        session,
        update(Event)
        .where(Event.id == event.id, Event.state == EventState.DEPLOYING)
        .values(state=EventState.FAILED, deploy_error=reason),
    )
    session.commit()
    log.warning("event %d failed to deploy: %s", event.id, reason)
    return bool(done)


def reconcile_deployments(
    sessions: sessionmaker[Session], chain: BridgeAccounts, *, wait_s: float | None = None
) -> int:
    """Finish or fail every ``deploying`` event no live process owns; returns how many.

    From what was recorded before each broadcast: no clone transaction recorded means none was
    sent (failed); a recorded clone transaction is settled (broadcast again if the node never got
    it, awaited if pending) and its ``EventCreated`` log gives the contract; if its nonce went to
    another transaction it can never be mined (failed). A clone is never sent here, so one row
    never gets two contracts. Then :meth:`chain.deploy.EventDeployer.finish_event` completes the
    roles and the hand-over, checking the chain before each step, and the event turns active.
    ``wait_s`` bounds the wait for a recorded transaction still pending (the worker passes a
    short one so its other duties do not wait; the event is taken up again next round).
    """
    with sessions() as session:
        ids = session.scalars(
            select(Event.id).where(Event.state == EventState.DEPLOYING).order_by(Event.id)
        ).all()
        engine = _engine(session)
    done = 0
    for event_id in ids:
        with deploy_lock(engine, event_id) as owned:
            if not owned:
                continue  # a live process is deploying it
            with sessions() as session:
                try:
                    done += _reconcile(session, chain, event_id, wait_s)
                except TicketError as exc:
                    session.rollback()
                    row = session.get(Event, event_id)
                    if row is not None:
                        row.deploy_error = f"{exc.code}: {exc}"[:2000]
                        session.commit()
                    log.warning("reconciling event %d: %s (next round)", event_id, exc)
    return done


def _reconcile(session: Session, chain: BridgeAccounts, event_id: int, wait_s: float | None) -> int:
    event = session.get(Event, event_id)
    if event is None or event.state != EventState.DEPLOYING:
        return 0
    txs = list(event.deploy_txs or [])
    if event.contract_address is None:
        clone_txs = [t for t in txs if t["step"] == "clone"]
        if not clone_txs:
            return int(_fail(session, event, "interrupted before the deployment was sent"))
        deployer = chain.deployer
        found = deployer.clone_from_receipts(deployer.settle(clone_txs, wait_s=wait_s))
        if found is None:
            return int(_fail(session, event, "the deployment transaction was never mined"))
        log.info("event %d: found its clone %s after a crash", event.id, found[0])
        _on_cloned(session, event)(*found)
    assert event.contract_address is not None
    chain.deployer.settle([t for t in txs if t["step"] != "clone"], wait_s=wait_s)
    chain.deployer.finish_event(
        event.contract_address, event.deploy_owner, record=_recorder(session, event), hook=_hook
    )
    return int(_activate(session, event))


def sales(session: Session, event: Event, settings: Settings) -> SalesOut:
    S = OrderState
    rows = session.execute(
        select(
            Order.tier_id,
            func.sum(case((Order.state == S.RESERVED, Order.quantity), else_=0)),
            func.sum(case((Order.state.in_([S.PAID, S.MINTING]), Order.quantity), else_=0)),
            func.sum(case((Order.state == S.MINTED, Order.quantity), else_=0)),
            func.sum(
                case((Order.state.in_([S.PAID, S.MINTING, S.MINTED]), Order.amount_cents), else_=0)
            ),
        )
        .where(Order.event_id == event.id)
        .group_by(Order.tier_id)
    ).all()
    by_tier = {r[0]: r[1:] for r in rows}
    tiers = []
    for t in event.tiers:
        reserved, paid, minted, revenue = (int(v or 0) for v in by_tier.get(t.id, (0, 0, 0, 0)))
        tiers.append(
            TierSales(
                tier_id=t.id,
                name=t.name,
                supply=t.supply,
                reserved=reserved,
                paid=paid,
                minted=minted,
                tickets_sold=paid + minted,
                eth_minted=t.eth_minted,
                remaining=t.remaining,
                revenue_cents=revenue,
            )
        )
    return SalesOut(event_id=event.id, currency=settings.currency, tiers=tiers)


def mark_cancelled(session: Session, event: Event) -> None:
    event.state = EventState.CANCELLED
    event.cancelled_at = event.cancelled_at or utcnow()
