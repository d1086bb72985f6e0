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
    """What the bridge asks of a payment provider.

    An order is made in two steps, the same for every provider (api.services.orders): first the
    reservation, one database statement under the tier's seat lock, which also writes what
    :meth:`reserve_payment` adds; then, after it has committed and with no lock held, the
    payment session (:meth:`create_payment` / :meth:`create_payment_async`), whose reference is
    then recorded on the order when the reservation could not know it.
    """

    name: str
    #: True when the provider's payments are rows of the bridge's own database
    #: (``local_payments``): the reservation statement writes the payment's row itself.
    offline: bool = False

    def reserved_ref(self, order_id: str) -> str | None:
        """The payment reference the reservation writes on the order, when the provider can
        name it before its session is opened; None when only the session tells (Stripe)."""
        return None

    def reserve_payment(
        self, session: Session, *, order_id: str, amount_cents: int, currency: str
    ) -> str | None:
        """Stage, in the reservation's transaction, what the provider keeps in the bridge's
        database (nothing by default); returns :meth:`reserved_ref`."""
        return self.reserved_ref(order_id)

    @abstractmethod
    def create_payment(
        self,
        session: Session | None,
        *,
        order_id: str,
        amount_cents: int,
        currency: str,
        email: str,
    ) -> PaymentIntent:
        """Open the payment session of a reserved order (called with no lock held, after the
        reservation committed; may take a network round trip); idempotent per ``order_id``."""

    async def create_payment_async(
        self, *, order_id: str, amount_cents: int, currency: str, email: str
    ) -> PaymentIntent:
        """:meth:`create_payment` for the event loop (the order route); by default in the thread
        pool, providers with an asynchronous client override it."""
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(
            lambda: self.create_payment(
                None,
                order_id=order_id,
                amount_cents=amount_cents,
                currency=currency,
                email=email,
            )
        )

    @abstractmethod
    def refund(
        self, session: Session, *, payment_ref: str, order_id: str, amount_cents: int | None = None
    ) -> str:
        """Refund a payment in full, or ``amount_cents`` of it; idempotent per ``order_id`` (one
        refund per order); returns the refund id."""

    @abstractmethod
    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> PaymentEvent:
        """Verify and parse a webhook; raise WebhookRejected for anything not proven genuine."""
