"""Structured logs: one JSON object per line, with the request id of what is being done.

Every process (bridge, minting worker, gate device) calls :func:`configure` once at start. A line
looks like::

    {"ts": "2026-12-07T13:01:02.345Z", "level": "info", "logger": "api.services.payments",
     "msg": "webhook applied", "request_id": "9f2c...", "outcome": "paid"}

``request_id`` comes from a context variable: the bridge's middleware sets it for each HTTP
request (from a well-formed ``X-Request-Id`` header, else a new one) and the order records it, so
the webhook that pays the order and the worker that mints it log under the order's request id
too (:func:`bound_request_id`). Extra fields come from ``logging``'s ``extra={...}``.

Secrets are never passed to a logger: settings hold them as ``SecretStr`` (whose ``str`` is
``**********``), and a test runs a whole order -> webhook -> mint flow and greps every line for
each secret it used.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

from fairgate.settings import Settings

REQUEST_ID: ContextVar[str | None] = ContextVar("fairgate_request_id", default=None)
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# attributes every LogRecord has: anything else on a record came from ``extra=`` and is logged
_STANDARD = frozenset(
    vars(logging.LogRecord("n", logging.INFO, "p", 1, "m", None, None)).keys()
    | {"message", "asctime", "taskName"}
)


def new_request_id() -> str:
    return uuid.uuid4().hex


def accepted_request_id(header: str | None) -> str:
    """The caller's ``X-Request-Id`` when it is a plain token of 8-64 characters (so a log line
    cannot be forged or bloated through it), else a new id."""
    if header and REQUEST_ID_PATTERN.match(header):
        return header
    return new_request_id()


@contextmanager
def bound_request_id(request_id: str | None) -> Iterator[None]:
    """Log under ``request_id`` inside the block (e.g. the order's, while minting it)."""
    token = REQUEST_ID.set(request_id)
    try:
        yield
    finally:
        REQUEST_ID.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id:
            line["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, separators=(",", ":"))


def configure(level: str = "info", *, stream: TextIO | None = None) -> logging.Handler:
    """Send every log record of the process to ``stream`` (stderr) as JSON lines; uvicorn's own
    loggers included. Returns the handler (tests remove it again)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers = []
        uvicorn_logger.propagate = True
    return handler


def configure_logs(settings: Settings, level: str = "info") -> None:
    """A process's logging at start: JSON lines (``FAIRGATE_LOG_JSON``, the default) or the
    plain text format for a person at a terminal."""
    if settings.log_json:
        configure(level)
    else:
        logging.basicConfig(
            level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )


class RequestIds:
    """ASGI middleware: each HTTP request runs under a request id (the caller's well-formed
    ``X-Request-Id``, else a new one), sent back in the ``X-Request-Id`` response header."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                header = value.decode("latin-1")
                break
        request_id = accepted_request_id(header)
        raw = request_id.encode()

        async def send_with_id(message: Any) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", raw)]
            await send(message)

        token = REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)
