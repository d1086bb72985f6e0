"""The local payment provider: development and tests, no network.

It plays Stripe's part: payments live in ``local_payments``; the bridge serves a checkout page
(``/checkout/{payment_id}``) where a test card succeeds (4242 4242 4242 4242) or is declined
(4000 0000 0000 0002, or the "decline" button); the outcome is announced by a webhook signed
exactly like Stripe's (``t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``, several ``v1``
allowed for secret rotation) and refused outside ``webhook_tolerance_s``. The checkout delivers
that webhook to the bridge in-process, through the same verification as ``POST /webhooks/local``.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.errors import WebhookRejected
from api.models import LocalPayment
from api.payments.base import PaymentEvent, PaymentIntent, PaymentProvider, normalize_event
from api.payments.signature import SIGNATURE_HEADER, sign, verify
from fairgate.errors import NotFound, PaymentError
from fairgate.settings import Settings

__all__ = ["SIGNATURE_HEADER", "LocalProvider", "event_body", "sign", "verify"]

SUCCEED_CARD = "4242424242424242"
DECLINE_CARD = "4000000000000002"
MAX_BODY = 64 * 1024
#: A new payment's status, until the checkout charges a card (Stripe's name for it).
PENDING = "requires_payment_method"


def event_body(
    event_type: str,
    obj: Mapping[str, Any],
    *,
    event_id: str | None = None,
    created: int | None = None,
) -> bytes:
    """A Stripe-shaped event as JSON bytes."""
    return json.dumps(
        {
            "id": event_id or "evt_local_" + secrets.token_hex(12),
            "object": "event",
            "type": event_type,
            "created": int(time.time()) if created is None else created,
            "data": {"object": dict(obj)},
        },
        separators=(",", ":"),
    ).encode()


class LocalProvider(PaymentProvider):
    name = "local"
    offline = True

    def __init__(self, settings: Settings) -> None:
        self._secret = settings.webhook_secret
        self._tolerance = settings.webhook_tolerance_s
        self._public_url = settings.public_url.rstrip("/")
        # a card processor's round trip, played (benchmarks): the session opens this much later
        self._latency_s = settings.local_payment_latency_s

    def __repr__(self) -> str:
        return "LocalProvider()"

    def reserved_ref(self, order_id: str) -> str:
        """The payment of ``order_id``: its row in ``local_payments`` (status :data:`PENDING`)
        is written by the order's reservation (its statement, or :meth:`reserve_payment`)."""
        return "pi_local_" + order_id  # one per order, made in its creating transaction

    def intent_for(self, order_id: str) -> PaymentIntent:
        """What opening the session of ``order_id`` gives: the checkout page of its payment."""
        payment_id = self.reserved_ref(order_id)
        return PaymentIntent(
            ref=payment_id, checkout_url=f"{self._public_url}/checkout/{payment_id}"
        )

    def reserve_payment(
        self, session: Session, *, order_id: str, amount_cents: int, currency: str
    ) -> str:
        ref = self.reserved_ref(order_id)
        session.add(
            LocalPayment(
                id=ref, order_id=order_id, amount_cents=amount_cents, currency=currency,
                status=PENDING,
            )
        )  # fmt: skip
        return ref

    def create_payment(
        self,
        session: Session | None,
        *,
        order_id: str,
        amount_cents: int,
        currency: str,
        email: str,
    ) -> PaymentIntent:
        if self._latency_s:
            time.sleep(self._latency_s)
        return self.intent_for(order_id)

    async def create_payment_async(
        self, *, order_id: str, amount_cents: int, currency: str, email: str
    ) -> PaymentIntent:
        if self._latency_s:
            await asyncio.sleep(self._latency_s)
        return self.intent_for(order_id)

    def refund(
        self, session: Session, *, payment_ref: str, order_id: str, amount_cents: int | None = None
    ) -> str:
        payment = session.get(LocalPayment, payment_ref)
        if payment is None:
            raise PaymentError("no such local payment")
        if payment.status not in ("succeeded", "refunded"):
            raise PaymentError(f"cannot refund a payment in status {payment.status}")
        amount = payment.amount_cents if amount_cents is None else amount_cents
        if not 0 < amount <= payment.amount_cents:
            raise PaymentError(f"cannot refund {amount} of a payment of {payment.amount_cents}")
        # as Stripe: a partial refund leaves the payment succeeded, with the amount refunded
        payment.status = "refunded" if amount == payment.amount_cents else "succeeded"
        payment.refunded_cents = amount
        return "re_local_" + order_id

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> PaymentEvent:
        if len(body) > MAX_BODY:
            raise WebhookRejected("webhook body too large")
        verify(
            body,
            _header(headers, SIGNATURE_HEADER),
            self._secret.get_secret_value(),
            self._tolerance,
        )
        try:
            event = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise WebhookRejected("malformed webhook: body is not JSON") from None
        if not isinstance(event, dict):
            raise WebhookRejected("malformed webhook: body is not an object")
        return normalize_event(event)

    # -- the checkout page's side ---------------------------------------------------------------

    def payment(self, session: Session, payment_id: str) -> LocalPayment:
        payment = session.scalar(select(LocalPayment).where(LocalPayment.id == payment_id))
        if payment is None:
            raise NotFound("no such checkout")
        return payment

    def pay(
        self, session: Session, payment_id: str, card_number: str
    ) -> tuple[bytes, dict[str, str]]:
        """Charge a test card; returns the signed webhook (body, headers) announcing the outcome."""
        payment = self.payment(session, payment_id)
        if payment.status in ("succeeded", "refunded"):
            raise PaymentError(f"payment already {payment.status}")
        card = "".join(ch for ch in card_number if ch.isdigit())
        succeeded = card == SUCCEED_CARD
        payment.status = "succeeded" if succeeded else PENDING
        obj = {
            "id": payment.id,
            "object": "payment_intent",
            "amount": payment.amount_cents,
            "currency": payment.currency,
            "status": payment.status,
            "metadata": {"order_id": payment.order_id},
        }
        kind = "payment_intent.succeeded" if succeeded else "payment_intent.payment_failed"
        return self.signed(kind, obj)

    def signed(
        self, event_type: str, obj: Mapping[str, Any], *, timestamp: int | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """A signed webhook as the provider would send it (also used by tests)."""
        body = event_body(event_type, obj)
        return body, {SIGNATURE_HEADER: sign(body, self._secret.get_secret_value(), timestamp)}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None
