"""Seats: take them atomically, give them back when a reservation expires or an order fails.

``take_seats`` is a single conditional UPDATE: whichever of many concurrent buyers commits first
gets the seats, the rest find the condition false and are refused (never oversold, never blocked
longer than one row lock). Expired reservations are swept lazily (when a tier looks sold out, so an
expired seat is sold again at once) and by the worker's periodic sweep.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from api.models import Order, OrderEvent, OrderState, Tier, utcnow

log = logging.getLogger(__name__)


def take_seats(session: Session, tier_id: int, quantity: int) -> bool:
    """Hold ``quantity`` seats of a tier if that many remain; True when taken."""
    result = session.execute(
        update(Tier)
        .where(Tier.id == tier_id, Tier.taken + Tier.eth_minted + quantity <= Tier.supply)
        .values(taken=Tier.taken + quantity)
        .returning(Tier.id)
    )
    return result.first() is not None


def release_seats(session: Session, tier_id: int, quantity: int) -> None:
    session.execute(
        update(Tier).where(Tier.id == tier_id).values(taken=func.max(Tier.taken - quantity, 0))
        if session.get_bind().dialect.name == "sqlite"
        else update(Tier)
        .where(Tier.id == tier_id)
        .values(taken=func.greatest(Tier.taken - quantity, 0))
    )


def expire_reservations(
    session: Session, *, tier_id: int | None = None, now: datetime | None = None, limit: int = 1000
) -> int:
    """Expire reservations past their time and return their seats; the number expired.

    The UPDATE re-checks ``state = 'reserved'`` under the row lock, so a payment confirmed at the
    same moment wins (the webhook locks the order first) and its seats are never given away.
    """
    now = now or utcnow()
    candidates = select(Order.id).where(Order.state == OrderState.RESERVED, Order.expires_at < now)
    if tier_id is not None:
        candidates = candidates.where(Order.tier_id == tier_id)
    ids = list(session.scalars(candidates.limit(limit)))
    if not ids:
        return 0
    rows = session.execute(
        update(Order)
        .where(Order.id.in_(ids), Order.state == OrderState.RESERVED, Order.expires_at < now)
        .values(state=OrderState.EXPIRED, updated_at=now)
        .returning(Order.id, Order.tier_id, Order.quantity)
        .execution_options(synchronize_session=False)
    ).all()
    per_tier: dict[int, int] = defaultdict(int)
    for _, tid, quantity in rows:
        per_tier[tid] += quantity
    for tid, quantity in per_tier.items():
        release_seats(session, tid, quantity)
    if rows:
        session.execute(
            insert(OrderEvent),
            [
                {
                    "order_id": oid,
                    "from_state": OrderState.RESERVED,
                    "to_state": OrderState.EXPIRED,
                    "reason": "reservation expired; seats returned to sale",
                    "at": now,
                }
                for oid, _, _ in rows
            ],
        )
        log.info("expired %d reservations", len(rows))
    return len(rows)
