"""Stripe's webhook signature scheme, shared by the local provider (which copies it) and the
Stripe provider (whose SDK verifies the HMAC; the header's shape and the timestamp's two-sided
tolerance are checked here first).

Header: ``t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``; several ``v1`` are
allowed (secret rotation); ``v0`` is Stripe's test-mode scheme and is never accepted.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time

from api.errors import WebhookRejected

__all__ = ["SIGNATURE_HEADER", "check_timestamp", "parse_header", "sign", "verify"]

SIGNATURE_HEADER = "Fairgate-Signature"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_MAX_TIMESTAMP_DIGITS = 12


def sign(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """The signature header value for ``body`` (Stripe's scheme)."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def parse_header(header: str | None, name: str = SIGNATURE_HEADER) -> tuple[int, list[str]]:
    """``(timestamp, v1 signatures)`` of a Stripe-scheme signature header.

    Raises WebhookRejected for a missing header, a bad timestamp, or no ``v1`` signature (a
    header with only ``v0``, Stripe's test scheme, is told apart). A ``v1`` that is not 64
    lower-case hex digits cannot be an HMAC-SHA256 and is dropped here, so no non-ASCII value
    ever reaches ``hmac.compare_digest`` (which raises on one).
    """
    if not header:
        raise WebhookRejected(f"missing {name} header")
    timestamp: int | None = None
    signatures: list[str] = []
    others: set[str] = set()
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            if not (value.isascii() and value.isdigit()) or len(value) > _MAX_TIMESTAMP_DIGITS:
                raise WebhookRejected("malformed signature header: bad timestamp")
            timestamp = int(value)
        elif key == "v1":
            if _HEX64.fullmatch(value):
                signatures.append(value)
            else:
                others.add("malformed v1")
        elif key:
            others.add(key)
    if timestamp is None:
        raise WebhookRejected("malformed signature header: t= and v1= are required")
    if not signatures:
        if "malformed v1" in others:
            raise WebhookRejected("malformed signature header: v1 is not a hex HMAC-SHA256")
        if "v0" in others:
            raise WebhookRejected("no v1 signature given (only v0, which is not accepted)")
        raise WebhookRejected("malformed signature header: t= and v1= are required")
    return timestamp, signatures


def check_timestamp(timestamp: int, tolerance_s: int, now: float | None = None) -> None:
    """Refuse a timestamp more than ``tolerance_s`` away from now, in the past or the future."""
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance_s:
        raise WebhookRejected("webhook timestamp outside the tolerance window")


def verify(
    body: bytes, header: str | None, secret: str, tolerance_s: int, now: float | None = None
) -> None:
    """Raise WebhookRejected unless ``header`` signs ``body`` with ``secret`` within tolerance."""
    timestamp, signatures = parse_header(header)
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        raise WebhookRejected("webhook signature does not match")
    check_timestamp(timestamp, tolerance_s, now)
