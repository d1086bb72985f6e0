"""The payment provider interface and the provider-neutral webhook event.

Providers differ in how they charge and sign, not in what the bridge needs from them: create a
payment for an order, refund it, and turn a signed webhook into a :class:`PaymentEvent`. Webhook
bodies follow Stripe's event shape (``id``, ``type``, ``created``, ``data.object``), which the local
provider copies, so :func:`normalize_event` serves both.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from api.errors import WebhookRejected


class PaymentKind(enum.StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUNDED = "refunded"  # a refund made at the provider (dashboard, support)
    DISPUTED = "disputed"  # a chargeback
    IGNORED = "ignored"  # an event type the bridge does not act on


@dataclass(frozen=True)
class PaymentIntent:
    ref: str  # the provider's payment id (Stripe: pi_...)
    checkout_url: str | None = None
    client_secret: str | None = None


@dataclass(frozen=True)
class PaymentEvent:
    id: str
    type: str
    kind: PaymentKind
    payment_ref: str | None
    created: int


_KINDS = {
    "payment_intent.succeeded": PaymentKind.SUCCEEDED,
    "payment_intent.payment_failed": PaymentKind.FAILED,
    "charge.refunded": PaymentKind.REFUNDED,
    "charge.dispute.created": PaymentKind.DISPUTED,
}


def normalize_event(event: Mapping[str, Any]) -> PaymentEvent:
    """A Stripe-shaped event dict as a :class:`PaymentEvent`; WebhookRejected if malformed."""
    try:
        event_id = event["id"]
        event_type = event["type"]
        created = event["created"]
        obj = event["data"]["object"]
    except (KeyError, TypeError):
        raise WebhookRejected(
            "malformed webhook: id, type, created and data.object are required"
        ) from None
    if not isinstance(event_id, str) or not event_id or len(event_id) > 255:
        raise WebhookRejected("malformed webhook: bad id")
    if (
        not isinstance(event_type, str)
        or not isinstance(created, int)
        or not isinstance(obj, Mapping)
    ):
        raise WebhookRejected("malformed webhook: bad type, created or data.object")
    kind = _KINDS.get(event_type, PaymentKind.IGNORED)
    # a payment intent event carries the intent; charges and disputes point at theirs
    ref: Any = (
        obj.get("id") if event_type.startswith("payment_intent.") else obj.get("payment_intent")
    )
    if kind is not PaymentKind.IGNORED and (not isinstance(ref, str) or not ref or len(ref) > 255):
        raise WebhookRejected("malformed webhook: no payment intent id")
    return PaymentEvent(
        id=event_id,
        type=event_type,
        kind=kind,
        payment_ref=ref if isinstance(ref, str) else None,
        created=created,
    )


class PaymentProvider(ABC):
    """What the bridge asks of a payment provider."""

    name: str
    #: True when create_payment makes no network call, so it may run inside the reservation's
    #: database transaction (the local provider); False for Stripe, whose call comes after commit.
    offline: bool = False

    @abstractmethod
    def create_payment(
        self, session: Session, *, order_id: str, amount_cents: int, currency: str, email: str
    ) -> PaymentIntent:
        """Create the payment of an order; idempotent per ``order_id``."""

    @abstractmethod
    def refund(self, session: Session, *, payment_ref: str, order_id: str) -> str:
        """Refund a payment in full; idempotent per ``order_id``; returns the refund id."""

    @abstractmethod
    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> PaymentEvent:
        """Verify and parse a webhook; raise WebhookRejected for anything not proven genuine."""
