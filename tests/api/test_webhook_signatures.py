"""Webhook signature headers and the Stripe provider's edges, without a chain or a database.

Both providers share one header parser (api.payments.signature): a non-hex or non-ASCII ``v1`` is
a malformed header (never a 500 from ``hmac.compare_digest``), a header with only ``v0`` says
that no v1 signature was given, and a timestamp outside the tolerance is refused in the past
and in the future alike. The Stripe provider takes its API host from ``FAIRGATE_STRIPE_API_BASE``
and answers a network failure with a short sentence of ours, logging Stripe's text.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from pydantic import SecretStr

from api.errors import WebhookRejected
from api.payments import provider_from_settings
from api.payments.local import event_body
from api.payments.signature import parse_header, sign, verify
from api.payments.stripe import StripeProvider
from fairgate.errors import ConfigError, PaymentError
from fairgate.settings import Settings, get_settings

SECRET = "whsec_stripe"
BODY = event_body("payment_intent.succeeded", {"id": "pi_123"}, event_id="evt_s")


def stripe() -> StripeProvider:
    return StripeProvider("sk_test_x", SECRET, tolerance_s=300, max_network_retries=0)


def refused(header: str, phrase: str) -> str:
    """Both providers refuse ``header`` saying ``phrase``; returns the Stripe provider's text."""
    with pytest.raises(WebhookRejected) as info:
        stripe().parse_webhook(BODY, {"Stripe-Signature": header})
    with pytest.raises(WebhookRejected) as local:
        verify(BODY, header, SECRET, 300)
    assert phrase in str(info.value) and phrase in str(local.value)
    return str(info.value)


# ----------------------------------------------------------------------------- item 12


@pytest.mark.parametrize(
    "v1",
    ["\u00e9" * 64, "\u00c3\u00a9", "0" * 63 + "\u00e9", "\u2603", "A" * 64, "0" * 65, ""],
)
def test_a_v1_that_is_not_hex_is_malformed_for_both_providers(v1: str) -> None:
    header = f"t={int(time.time())},v1={v1}"
    refused(header, "v1 is not a hex HMAC-SHA256")


def test_a_bad_v1_beside_a_good_one_still_verifies() -> None:
    good = sign(BODY, SECRET)
    header = good.replace(",v1=", ",v1=\u00e9\u00e9,v1=")
    assert parse_header(header)[1] == [good.split("v1=")[1]]
    verify(BODY, header, SECRET, 300)
    assert stripe().parse_webhook(BODY, {"Stripe-Signature": header}).payment_ref == "pi_123"


@pytest.mark.parametrize("t", ["\u0661\u0662", "12a", "", "1" * 13, "-5"])
def test_a_timestamp_that_is_not_ascii_digits_is_malformed(t: str) -> None:
    refused(f"t={t},v1={'0' * 64}", "bad timestamp")


# ----------------------------------------------------------------------------- item 13


@pytest.mark.parametrize("offset", [-310, -3600, 310, 3600])  # int(time.time()) truncates
def test_stripe_refuses_a_signed_timestamp_outside_the_tolerance_both_ways(offset: int) -> None:
    header = sign(BODY, SECRET, int(time.time()) + offset)
    refused(header, "outside the tolerance window")


@pytest.mark.parametrize("offset", [-290, 0, 290])
def test_stripe_accepts_a_signed_timestamp_inside_the_tolerance(offset: int) -> None:
    header = sign(BODY, SECRET, int(time.time()) + offset)
    assert stripe().parse_webhook(BODY, {"Stripe-Signature": header}).kind == "succeeded"


def test_only_a_v0_signature_says_no_v1_was_given() -> None:
    v0 = sign(BODY, SECRET).replace("v1=", "v0=")
    message = refused(v0, "no v1 signature given")
    assert "does not match" not in message


def test_a_wrong_v1_says_the_signature_does_not_match() -> None:
    refused(sign(BODY, "whsec_other"), "does not match")


# ----------------------------------------------------------------------------- item 14


class _Recorder(BaseHTTPRequestHandler):
    paths: list[str] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        _Recorder.paths.append(self.path)
        data = b'{"id": "pi_base", "object": "payment_intent", "client_secret": "s"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def recorder() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def stripe_settings(**extra: Any) -> Settings:
    return Settings(
        payment_provider="stripe",
        stripe_api_key=SecretStr("sk_test_x"),
        stripe_webhook_secret=SecretStr(SECRET),
        **extra,
    )


def test_the_stripe_api_base_setting_reaches_the_sdk(
    recorder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAIRGATE_STRIPE_API_BASE", recorder)
    monkeypatch.setenv("FAIRGATE_PAYMENT_PROVIDER", "stripe")
    monkeypatch.setenv("FAIRGATE_STRIPE_API_KEY", "sk_test_x")
    monkeypatch.setenv("FAIRGATE_STRIPE_WEBHOOK_SECRET", SECRET)
    get_settings.cache_clear()
    try:
        provider = provider_from_settings(get_settings())
    finally:
        get_settings.cache_clear()
    before = len(_Recorder.paths)
    intent = provider.create_payment(
        None,  # type: ignore[arg-type]
        order_id="o" * 32,
        amount_cents=100,
        currency="usd",
        email="fan@example.com",
    )
    assert intent.ref == "pi_base"
    assert _Recorder.paths[before:] == ["/v1/payment_intents"]


@pytest.mark.parametrize("base", ["ftp://host", "127.0.0.1:12111", "http://", "http://a b"])
def test_a_bad_stripe_api_base_is_refused(base: str) -> None:
    with pytest.raises((ValueError, ConfigError)):
        stripe_settings(stripe_api_base=base)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("call", ["create_payment", "refund"])
def test_a_stripe_network_error_gives_a_short_message_and_logs_the_rest(
    call: str, caplog: pytest.LogCaptureFixture
) -> None:
    provider = StripeProvider(
        "sk_test_x",
        SECRET,
        base_url=f"http://127.0.0.1:{_closed_port()}",
        max_network_retries=0,
    )
    caplog.set_level(logging.WARNING, logger="api.payments.stripe")
    with pytest.raises(PaymentError) as info:
        if call == "create_payment":
            provider.create_payment(
                None,  # type: ignore[arg-type]
                order_id="o" * 32,
                amount_cents=100,
                currency="usd",
                email="fan@example.com",
            )
        else:
            provider.refund(None, payment_ref="pi_x", order_id="o" * 32)  # type: ignore[arg-type]
    message = str(info.value)
    assert "could not be reached" in message
    assert "\n" not in message and len(message) < 120
    assert "Unexpected error communicating" not in message  # the SDK's text is logged only
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "APIConnectionError" in logged and "o" * 32 in logged
