"""Refunds: event cancellation and the provider side of refund_pending orders.

Cancelling an event: the contract is cancelled first (no more mints or resales), then every order
is moved by :func:`settle_cancelled_event`: unpaid reservations are cancelled, paid and minted
ones become refund_pending. The worker's :func:`refund_pending_orders` then refunds each through the
provider (idempotency key = order id, so a retry after a crash never refunds twice) and moves it
to refunded (no tickets) or revoking (tickets to burn, done by the minting worker).
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.chain import BridgeChain
from api.models import Event, EventState, Order, OrderState
from api.payments.base import PaymentProvider
from api.services.catalog import mark_cancelled
from api.services.orders import locked_order, transition
from fairgate.errors import Conflict, PaymentError, TicketError

log = logging.getLogger(__name__)
S = OrderState


def cancel_event(session: Session, chain: BridgeChain | None, event: Event) -> Event:
    if event.state == EventState.CANCELLED:
        return event
    if event.contract_address and chain is not None and not event.chain_cancelled:
        if not chain.is_cancelled(event.contract_address):
            if chain.organizer_of(event.contract_address) != chain.operator.address:
                raise Conflict(
                    "this event belongs to the organizer's wallet: cancel it on-chain with that "
                    "wallet (`fairgate organizer cancel`); the bridge refunds the card orders as "
                    "soon as it sees the cancellation"
                )
            chain.cancel_event(event.contract_address)
        event.chain_cancelled = True
    mark_cancelled(session, event)
    session.commit()
    settle_cancelled_event(session, event.id)
    return event


def settle_cancelled_event(session: Session, event_id: int, limit: int = 500) -> int:
    """Move the orders of a cancelled event towards refunds; returns how many moved. Commits."""
    moved = 0
    while True:
        ids = session.scalars(
            select(Order.id)
            .where(Order.event_id == event_id, Order.state.in_([S.RESERVED, S.PAID, S.MINTED]))
            .limit(limit)
        ).all()
        if not ids:
            return moved
        for order_id in ids:
            order = locked_order(session, order_id=order_id)
            if order is None:
                continue
            if order.state == S.RESERVED:
                transition(session, order, S.CANCELLED, "event cancelled")
            elif order.state in (S.PAID, S.MINTED):
                transition(session, order, S.REFUND_PENDING, "event cancelled")
            moved += 1
        session.commit()


def settle_cancelled_events(session: Session) -> int:
    """Catch orders of cancelled events that were in flight at cancellation (a batch minting
    while the event was cancelled ends ``minted``): they are moved towards refunds too."""
    event_ids = session.scalars(
        select(Order.event_id)
        .join(Event, Event.id == Order.event_id)
        .where(Event.state == EventState.CANCELLED, Order.state.in_([S.RESERVED, S.PAID, S.MINTED]))
        .distinct()
    ).all()
    session.rollback()
    return sum(settle_cancelled_event(session, event_id) for event_id in event_ids)


def refund_pending_orders(session: Session, provider: PaymentProvider, limit: int = 50) -> int:
    """Refund refund_pending orders through the provider; returns how many were refunded."""
    done = 0
    ids = session.scalars(
        select(Order.id).where(Order.state == S.REFUND_PENDING).limit(limit)
    ).all()
    for order_id in ids:
        order = locked_order(session, order_id=order_id)
        if order is None or order.state != S.REFUND_PENDING:
            session.rollback()
            continue
        try:
            if not order.provider_refunded and order.payment_ref:
                order.refund_ref = provider.refund(
                    session, payment_ref=order.payment_ref, order_id=order.id
                )
                order.provider_refunded = True
        except (PaymentError, TicketError) as exc:
            log.warning("refund of order %s failed, will retry: %s", order.id, exc.code)
            session.rollback()
            continue
        has_tickets = bool(order.tickets)
        transition(
            session,
            order,
            S.REVOKING if has_tickets else S.REFUNDED,
            "refunded through the provider" + ("; tickets to be revoked" if has_tickets else ""),
        )
        session.commit()
        done += 1
    return done
