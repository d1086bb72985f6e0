"""Stripe through its SDK (``stripe`` 16): payment intents, refunds, SDK-verified webhooks.

Requests carry an idempotency key derived from the order id, so a retried create or refund (after
a crash or a timeout) never charges or refunds twice. ``base_url`` (``FAIRGATE_STRIPE_API_BASE``)
points the SDK at another host: a Stripe-compatible local server (stripe-mock), or in tests a local
recorder, since Stripe cannot be reached from here.

Webhooks: the header's shape and the timestamp are checked by :mod:`api.payments.signature`
(the same rules as the local provider: ``v1`` required, refused outside the tolerance in *both*
directions; the SDK only refuses old timestamps), then the SDK verifies the HMAC.

Errors: what Stripe or the network says goes to the log; the fan gets a short sentence of ours
(a card decline's own one-line ``user_message`` is kept, since Stripe writes it for card holders).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Mapping
from typing import Any

import stripe
from sqlalchemy.orm import Session
from stripe.params import RefundCreateParams

from api.errors import WebhookRejected
from api.payments.base import PaymentEvent, PaymentIntent, PaymentProvider, normalize_event
from api.payments.signature import check_timestamp, parse_header
from fairgate.errors import ConfigError, PaymentError
from fairgate.settings import Settings

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Stripe-Signature"
_MAX_USER_MESSAGE = 200


class StripeProvider(PaymentProvider):
    name = "stripe"
    offline = False

    def __init__(
        self,
        api_key: str,
        webhook_secret: str,
        *,
        tolerance_s: int = 300,
        base_url: str | None = None,
        max_network_retries: int = 2,
    ) -> None:
        options: dict[str, Any] = {"max_network_retries": max_network_retries}
        if base_url:
            options["base_addresses"] = {"api": base_url}
        self._api_key = api_key
        self._options = options
        self._client = stripe.StripeClient(api_key, **options)
        # the order route's client: the SDK over httpx's asyncio client, one per event loop (an
        # asyncio connection pool belongs to the loop that opened it)
        self._async_clients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, stripe.StripeClient
        ] = weakref.WeakKeyDictionary()
        self._webhook_secret = webhook_secret
        self._tolerance = tolerance_s

    def __repr__(self) -> str:
        return "StripeProvider()"

    @classmethod
    def from_settings(cls, settings: Settings) -> StripeProvider:
        if settings.stripe_api_key is None or settings.stripe_webhook_secret is None:
            raise ConfigError(
                "FAIRGATE_STRIPE_API_KEY and FAIRGATE_STRIPE_WEBHOOK_SECRET are required"
            )
        return cls(
            settings.stripe_api_key.get_secret_value(),
            settings.stripe_webhook_secret.get_secret_value(),
            tolerance_s=settings.webhook_tolerance_s,
            base_url=settings.stripe_api_base,
        )

    def create_payment(
        self,
        session: Session | None,
        *,
        order_id: str,
        amount_cents: int,
        currency: str,
        email: str,
    ) -> PaymentIntent:
        try:
            intent = self._client.v1.payment_intents.create(
                _intent_params(order_id, amount_cents, currency, email),
                {"idempotency_key": f"fairgate-order-{order_id}"},
            )
        except stripe.StripeError as exc:
            raise _payment_error(exc, "the payment", order_id) from None
        return PaymentIntent(ref=str(intent.id), client_secret=intent.client_secret)

    async def create_payment_async(
        self, *, order_id: str, amount_cents: int, currency: str, email: str
    ) -> PaymentIntent:
        loop = asyncio.get_running_loop()
        client = self._async_clients.get(loop)
        if client is None:
            client = self._async_clients[loop] = stripe.StripeClient(
                self._api_key, http_client=stripe.HTTPXClient(), **self._options
            )
        try:
            intent = await client.v1.payment_intents.create_async(
                _intent_params(order_id, amount_cents, currency, email),
                {"idempotency_key": f"fairgate-order-{order_id}"},
            )
        except stripe.StripeError as exc:
            raise _payment_error(exc, "the payment", order_id) from None
        return PaymentIntent(ref=str(intent.id), client_secret=intent.client_secret)

    def refund(
        self, session: Session, *, payment_ref: str, order_id: str, amount_cents: int | None = None
    ) -> str:
        params: RefundCreateParams = {
            "payment_intent": payment_ref,
            "metadata": {"order_id": order_id},
        }
        if amount_cents is not None:
            params["amount"] = amount_cents
        try:
            refund = self._client.v1.refunds.create(
                params,
                {"idempotency_key": f"fairgate-refund-{order_id}"},
            )
        except stripe.StripeError as exc:
            raise _payment_error(exc, "the refund", order_id) from None
        return str(refund.id)

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> PaymentEvent:
        header = next(
            (v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER.lower()), None
        )
        timestamp, signatures = parse_header(header, SIGNATURE_HEADER)
        # the SDK sees only the well-formed parts: it compares each v1 with hmac.compare_digest,
        # which raises on a non-ASCII string
        clean = ",".join([f"t={timestamp}", *(f"v1={s}" for s in signatures)])
        try:
            event = stripe.Webhook.construct_event(
                body, clean, self._webhook_secret, tolerance=self._tolerance
            )
        except stripe.SignatureVerificationError as exc:
            raise WebhookRejected(f"stripe signature refused: {_reason(exc)}") from None
        except (ValueError, UnicodeDecodeError):
            raise WebhookRejected("malformed webhook: body is not JSON") from None
        check_timestamp(timestamp, self._tolerance)  # the SDK refuses only the past
        return normalize_event(event.to_dict())


def _intent_params(order_id: str, amount_cents: int, currency: str, email: str) -> Any:
    return {
        "amount": amount_cents,
        "currency": currency,
        "receipt_email": email,
        "metadata": {"order_id": order_id},
        "automatic_payment_methods": {"enabled": True},
    }


def _payment_error(exc: stripe.StripeError, what: str, order_id: str) -> PaymentError:
    """A short message of ours for the fan; Stripe's full text (and request id) goes to the log."""
    log.warning(
        "stripe error on %s of order %s: %s %r",
        what, order_id, type(exc).__name__, str(exc),
    )  # fmt: skip
    if isinstance(exc, stripe.APIConnectionError):
        return PaymentError(
            f"the card processor could not be reached for {what}; please try again shortly"
        )
    if isinstance(exc, stripe.CardError) and exc.user_message:
        text = " ".join(str(exc.user_message).split())  # one line
        if len(text) > _MAX_USER_MESSAGE:
            text = text[: _MAX_USER_MESSAGE - 3] + "..."
        return PaymentError(f"the card was refused: {text}")
    return PaymentError(f"the card processor refused {what}; please try again later")


def _reason(exc: stripe.SignatureVerificationError) -> str:
    text = str(exc.user_message or exc).lower()
    if "tolerance" in text:
        return "timestamp outside the tolerance window"
    if "no signatures found matching" in text:
        return "signature does not match"
    return "malformed or invalid signature header"
