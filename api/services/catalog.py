"""Events and tiers: creation (deployed through the factory), the public catalog, sales.

Deployment is synchronous in the request and recorded intent-first: the event row is committed
in state ``deploying`` before the transaction is sent, so a crash leaves a visible ``deploying``
event rather than an unknown contract. (The factory's ``EventCreated`` log, with the operator as
creator, is how such an event would be recovered; not automated yet.)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from api.chain import BridgeChain
from api.models import Event, EventState, Order, OrderState, Organizer, Tier, utcnow
from api.schemas import EventCreate, EventOut, SalesOut, TierOut, TierSales
from chain.types import ZERO_ADDRESS, EventParams
from chain.types import Tier as ChainTier
from fairgate.errors import ChainError, TicketError
from fairgate.settings import Settings

log = logging.getLogger(__name__)


def event_out(event: Event, currency: str) -> EventOut:
    return EventOut(
        id=event.id,
        name=event.name,
        symbol=event.symbol,
        venue=event.venue,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        state=EventState(event.state),
        contract_address=event.contract_address,
        tiers=[
            TierOut(
                id=t.id,
                tier_index=t.tier_index,
                name=t.name,
                price_cents=t.price_cents,
                currency=currency,
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


def create_event(
    session: Session, chain: BridgeChain, organizer_id: int, request: EventCreate
) -> Event:
    event = Event(
        organizer_id=organizer_id,
        name=request.name,
        symbol=request.symbol,
        venue=request.venue,
        starts_at=request.starts_at,
        ends_at=request.ends_at,
        state=EventState.DEPLOYING,
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
                face_value_wei=str(t.face_value_wei),
                supply=t.supply,
                resale_cap_bps=t.resale_cap_bps,
                royalty_bps=t.royalty_bps,
                resale_opens_at=t.resale_opens_at,
                resale_closes_at=t.resale_closes_at,
            )
        )
    session.commit()  # intent first
    account = session.get(Organizer, organizer_id)
    owner = request.organizer_address or (account.payout_address if account else None)
    params = EventParams(
        name=request.name,
        symbol=request.symbol,
        organizer=chain.operator.address,  # until the roles are set; then handed to `owner`
        minter=chain.minter.address,
        gate=request.gate_address or ZERO_ADDRESS,
        base_uri=request.base_uri,
        starts_at=int(request.starts_at.timestamp()),
        ends_at=int(request.ends_at.timestamp()),
        tiers=tuple(
            ChainTier(
                face_value=t.face_value_wei,
                supply=t.supply,
                resale_cap_bps=t.resale_cap_bps,
                royalty_bps=t.royalty_bps,
                resale_opens_at=t.resale_opens_at,
                resale_closes_at=t.resale_closes_at,
            )
            for t in request.tiers
        ),
    )
    try:
        address, block = chain.create_event(params, hand_to=owner)
    except TicketError as exc:
        event.state = EventState.FAILED
        session.commit()
        log.warning("deploying event %d failed: %s", event.id, exc)
        raise ChainError(f"the event contract could not be deployed: {exc.code}") from None
    event.contract_address = address
    event.deploy_block = block
    event.indexed_block = block - 1
    event.state = EventState.ACTIVE
    session.commit()
    session.refresh(event)
    return event


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
