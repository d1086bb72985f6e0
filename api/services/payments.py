"""Webhooks: verified by the provider, applied once, harmless when late or out of order.

The event id is inserted into ``webhook_events`` (unique per provider) in the same transaction that
applies it: a redelivery or replay finds the row and changes nothing; two concurrent deliveries
serialize on the unique index. Nothing is written for a webhook that fails verification.

Order effects (the order row is locked first):

* succeeded: reserved -> paid; declined/expired -> paid if the seats can be taken again, else
  refund_pending; an order of a cancelled event -> refund_pending; already paid or later: no-op.
* failed: reserved -> declined (seats returned); any later state: no-op (a success came first).
* refunded / disputed (chargeback): the money is gone, so the order must not keep tickets:
  reserved/paid -> refunded (seats returned); minted -> revoking; minting -> flagged, the worker
  revokes after minting; refund_pending -> refunded or revoking. A chargeback of a cancelled
  event's order whose given-away tickets are not funded yet (see :mod:`api.services.refunds`):
  they are revoked instead (revoked -> revoking).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.errors import WebhookRejected
from api.metrics import WEBHOOKS, webhook_outcome
from api.models import Event, EventState, Order, OrderState, WebhookEvent
from api.payments.base import PaymentEvent, PaymentKind, PaymentProvider
from api.services.orders import locked_order, transition
from api.services.refunds import revoke_given_away
from api.services.reservations import take_seats
from fairgate.logs import REQUEST_ID, bound_request_id

log = logging.getLogger(__name__)
S = OrderState


def handle_webhook(
    session: Session, provider: PaymentProvider, body: bytes, headers: Mapping[str, str]
) -> str:
    """Verify, record and apply a webhook; returns what happened. Commits."""
    try:
        event = provider.parse_webhook(body, headers)  # raises WebhookRejected: nothing written
    except WebhookRejected:
        WEBHOOKS.labels(provider.name, "rejected").inc()
        raise
    try:
        with session.begin_nested():
            record = WebhookEvent(
                provider=provider.name,
                event_id=event.id,
                type=event.type,
                payment_ref=event.payment_ref,
            )
            session.add(record)
            session.flush()
    except IntegrityError:
        session.rollback()
        log.info("webhook %s already processed", event.id)
        WEBHOOKS.labels(provider.name, "duplicate").inc()
        return "duplicate"
    outcome, request_id = apply_event(session, event)
    record.outcome = outcome
    session.commit()
    WEBHOOKS.labels(provider.name, webhook_outcome(outcome)).inc()
    with bound_request_id(request_id or REQUEST_ID.get()):  # the order's request id
        log.info(
            "webhook applied",
            extra={"webhook_id": event.id, "type": event.type, "outcome": outcome},
        )
    return outcome


def apply_event(session: Session, event: PaymentEvent) -> tuple[str, str | None]:
    """What the event did to its order, and the order's request id (None: no order)."""
    if event.kind is PaymentKind.IGNORED or event.payment_ref is None:
        return "ignored", None
    order = locked_order(session, payment_ref=event.payment_ref)
    if order is None:
        return "unknown payment", None
    return _apply(session, event, order), order.request_id


def _apply(session: Session, event: PaymentEvent, order: Order) -> str:
    state = S(order.state)
    if event.kind is PaymentKind.SUCCEEDED:
        return _succeeded(session, order, state)
    if event.kind is PaymentKind.FAILED:
        if state is S.RESERVED:
            transition(session, order, S.DECLINED, "payment declined; seats returned")
            return "declined"
        return f"ignored: order already {state}"
    return _money_returned(session, order, state, event.kind)


def _succeeded(session: Session, order: Order, state: OrderState) -> str:
    event = session.get(Event, order.event_id)
    cancelled = event is None or event.state == EventState.CANCELLED
    if state is S.RESERVED:
        if cancelled:
            transition(session, order, S.CANCELLED, "event cancelled")
            transition(session, order, S.REFUND_PENDING, "paid for a cancelled event")
            return "refund_pending"
        transition(session, order, S.PAID, "payment confirmed")
        return "paid"
    if state in (S.DECLINED, S.EXPIRED, S.CANCELLED):
        if order.provider_refunded:
            return f"ignored: payment already returned ({state})"
        if not cancelled and take_seats(session, order.tier_id, order.quantity):
            transition(session, order, S.PAID, f"payment confirmed after the order was {state}")
            return "paid"
        transition(session, order, S.REFUND_PENDING, f"paid after the order was {state}; no seats")
        return "refund_pending"
    return f"ignored: order already {state}"


def _money_returned(session: Session, order: Order, state: OrderState, kind: PaymentKind) -> str:
    why = "chargeback" if kind is PaymentKind.DISPUTED else "refunded at the provider"
    order.provider_refunded = True
    if state in (S.RESERVED, S.PAID):
        transition(session, order, S.REFUNDED, why)
        return "refunded"
    if state is S.MINTED:
        transition(session, order, S.REVOKING, f"{why}: tickets to be revoked")
        return "revoking"
    if state is S.REFUND_PENDING:
        has_tickets = bool(order.tickets)
        transition(session, order, S.REVOKING if has_tickets else S.REFUNDED, why)
        return "revoking" if has_tickets else "refunded"
    if state is S.MINTING:
        return "flagged: revoked after minting"
    if kind is PaymentKind.DISPUTED and state in (S.REVOKING, S.REVOKED):
        # a cancelled event's tickets the payer gave away, not funded on-chain yet
        given = revoke_given_away(session, order)
        if given:
            if state is S.REVOKED:
                transition(session, order, S.REVOKING, f"{why}: given-away tickets to be revoked")
            return "revoking"
    return f"ignored: order already {state}"
