"""The bridge's own errors, under the one root ``fairgate.errors.TicketError``.

Each carries a stable ``code`` and maps to one HTTP status in :data:`STATUS`; the app's single
exception handler renders ``{"error": {"code", "message"}}``. Messages carry public data only.
"""

from __future__ import annotations

from fairgate.errors import (
    ChainError,
    ConfigError,
    Conflict,
    ContractRevert,
    NotFound,
    PaymentError,
    TicketError,
)


class Unauthorized(TicketError, PermissionError):
    """Missing or invalid credentials."""

    code = "unauthorized"


class Forbidden(TicketError, PermissionError):
    """These credentials may not do this."""

    code = "forbidden"


class InvalidRequest(TicketError, ValueError):
    """The request is well-formed JSON but not acceptable."""

    code = "invalid_request"


class RateLimited(TicketError, RuntimeError):
    """Too many requests from this client; retry later."""

    code = "rate_limited"

    def __init__(self, retry_after_s: float) -> None:
        super().__init__("too many order attempts; retry later", retry_after_s=retry_after_s)
        self.retry_after_s = retry_after_s


class QueueRefused(TicketError, PermissionError):
    """Refused by the on-sale waiting room (no token, not admitted yet, forged, shared, used).

    ``code`` says which: queue_required, queue_not_admitted, queue_token_invalid,
    queue_token_shared, queue_token_used."""

    code = "queue_required"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class SoldOut(Conflict):
    """Not enough seats left in this tier."""

    code = "sold_out"


class InvalidState(Conflict):
    """The order or event is not in a state that allows this."""

    code = "invalid_state"


class WebhookRejected(PaymentError):
    """A webhook was refused: bad signature, stale timestamp or malformed body."""

    code = "webhook_rejected"


STATUS: dict[type[TicketError], int] = {
    Unauthorized: 401,
    Forbidden: 403,
    QueueRefused: 403,
    NotFound: 404,
    RateLimited: 429,
    SoldOut: 409,
    InvalidState: 409,
    Conflict: 409,
    InvalidRequest: 422,
    WebhookRejected: 400,
    PaymentError: 502,
    ContractRevert: 502,
    ChainError: 502,
    ConfigError: 503,
}


def status_of(exc: TicketError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500
