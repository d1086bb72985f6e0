"""The gate device's own HTTP service: the scanner page and its API, served by the device itself.

Why on the device: the door must keep working when the venue's network does not. A tablet or
phone in the staff's hand opens ``http://<device>:<port>/scanner`` on the local network (or the
device's own browser opens it on ``127.0.0.1``); every decision is made here, by
:class:`gate.service.GateService`, with the cached roots and the device's nullifier store. The
hub and the chain are only reached by a background sync, which records whether they answered.

Staff only: every ``/api`` route needs the gate's key as ``Authorization: Bearer <key>``
(compared in constant time). The page itself is an empty shell with no event data; it gets the
key from its pairing link ``<base>/scanner#key=<key>``: the fragment never leaves the browser
(not in a request line, a proxy log or a ``Referer``), the page keeps it in ``localStorage`` and
removes it from the address bar at once. Without a key the page only asks for one.

Routes::

    GET  /scanner          the page (camera + paste fallback, verdict, counters, sync state)
    GET  /api/status       counters by reason, online/offline, last sync, hub conflicts, lists
    POST /api/scan         {"code": "<QR text>"} -> one verdict (admitted or refused, in words)
    POST /api/sync         sync now (the background loop does it every ``gate_sync_every_s``)
    GET  /assets/css/...   the shared stylesheet; /assets/js/... the bundled scanner.js

Hostile input: a request body above ``max_body`` bytes is refused with 413 before it is read
whole (:class:`BodyLimit`); a code longer than a QR code can hold is refused as unreadable
without being parsed; everything else goes through ``zk.payload.decode``'s strict parser. A
refusal never records anything.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from prometheus_client import Counter as PromCounter
from pydantic import BaseModel, ConfigDict
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chain.ticket_event import TicketEventClient
from fairgate.metrics import HttpMetrics, exposition
from fairgate.settings import Settings
from gate.checker import CheckResult
from gate.service import GateService
from gate.store import gate_label, when

__all__ = [
    "BodyLimit",
    "GateApp",
    "Verdict",
    "create_gate_app",
    "pairing_link",
    "serve_device",
    "staff_key",
]

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = (Path(__file__).resolve().parent / "templates", ROOT / "api" / "templates")
STATIC_CSS = ROOT / "web" / "static"
BUNDLES = ROOT / "build" / "web"

MAX_BODY = 16 * 1024  # a gate code is 580 characters; nothing legitimate comes near this
MAX_CODE = 4_296  # the most a QR code can hold (version 40, alphanumeric): longer is not a scan
RECENT = 20

# What staff read, per CheckResult.code: a headline and the counter it falls under
_WORDS: dict[str, tuple[str, str]] = {
    "admitted": ("Admitted", "admitted"),
    "nullifier_used": ("Already used", "already_used"),
    "wrong_event": ("Not a ticket of this event", "wrong_event"),
    "code_expired": ("Code expired", "expired"),
    "challenge_expired": ("Code expired", "expired"),
    "code_ahead": ("Code not valid yet", "expired"),
    "root_unknown": ("List out of date", "list_out_of_date"),
    "root_expired": ("List out of date", "list_out_of_date"),
    "root_superseded": ("List out of date", "list_out_of_date"),
    "challenge_unknown": ("Not for this gate", "not_for_this_gate"),
    "proof_invalid": ("Not a valid ticket", "invalid"),
    "malformed": ("Not a ticket code", "unreadable"),
}
COUNTERS = {
    "admitted": "Admitted",
    "already_used": "Already used",
    "wrong_event": "Not a ticket of this event",
    "expired": "Code expired",
    "list_out_of_date": "List out of date",
    "not_for_this_gate": "Not for this gate",
    "invalid": "Not a valid ticket",
    "unreadable": "Not a ticket code",
}


@dataclass(frozen=True)
class Verdict:
    """One scan's answer as the page shows it."""

    admitted: bool
    code: str
    title: str
    reason: str
    counter: str
    at: float
    check_ms: float

    @classmethod
    def of(cls, result: CheckResult, at: float) -> Verdict:
        title, counter = _WORDS.get(result.code, ("Refused", "invalid"))
        reason = result.reason
        if result.code == "wrong_event":
            reason = "not a ticket of this event"
        elif result.code == "root_unknown":  # published while this gate was offline, or forged
            reason = f"list out of date: {reason}; sync this gate, then ask for a fresh code"
        elif result.code in ("root_expired", "root_superseded"):
            reason = f"list out of date: {reason}; ask the holder to refresh the ticket"
        return cls(result.admitted, result.code, title, reason, counter, at, result.total_ms)


@dataclass
class SyncState:
    """What the background sync last saw (all times are the device's clock)."""

    hub_configured: bool
    chain_configured: bool = False
    hub_online: bool | None = None
    chain_online: bool | None = None
    last_sync_at: float | None = None  # last time the hub answered a whole sync
    last_attempt_at: float | None = None
    last_error: str | None = None
    pushed: int = 0
    pulled: int = 0


@dataclass
class GateApp:
    """The device service's state beside the :class:`GateService` it serves."""

    service: GateService
    staff_key: str
    name: str
    connect: Callable[[], TicketEventClient | None] | None = None
    counters: Counter[str] = field(default_factory=Counter)
    recent: deque[Verdict] = field(default_factory=lambda: deque(maxlen=RECENT))
    sync_state: SyncState = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _sync_lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        self.sync_state = SyncState(
            hub_configured=self.service.hub is not None,
            chain_configured=self.service.client is not None or self.connect is not None,
        )

    # ---------------------------------------------------------------- scans

    def scan(self, code: str) -> Verdict:
        """Judge one scanned code (recording it if admitted) and count the verdict."""
        now = time.time()
        if len(code) > MAX_CODE:
            result = CheckResult(False, "malformed", "unreadable code: too long for a QR code")
            # counted like the checker's refusals (the reason only; the code is not kept)
            self.service.store.count_refusal(self.service.checker.event, "malformed")
        else:
            result = self.service.check(code)
        verdict = Verdict.of(result, now)
        GATE_SCANS.labels("admitted" if verdict.admitted else "refused", verdict.code).inc()
        with self._lock:
            self.counters[verdict.counter] += 1
            self.recent.appendleft(verdict)
        return verdict

    # ---------------------------------------------------------------- sync

    def sync_now(self) -> SyncState:
        """Refresh roots from the chain and exchange check-ins with the hub, recording how each
        went. Never raises: the door keeps working whatever the network does."""
        with self._sync_lock:
            state = self.sync_state
            state.last_attempt_at = time.time()
            if self.service.client is None and self.connect is not None:
                self._reconnect()
            if self.service.client is not None:
                try:
                    state.chain_online = self.service.roots.sync()
                except Exception as exc:  # an unreachable node may raise outside ChainError
                    log.warning("root sync failed: %s", exc)
                    state.chain_online = False
            if self.service.hub is not None:
                try:
                    report = self.service.hub.sync_once()
                except Exception as exc:  # a malformed hub answer: keep the backlog, retry
                    log.warning("hub sync failed: %s", exc)
                    state.hub_online, state.last_error = False, str(exc)
                else:
                    state.hub_online = report.online
                    state.last_error = report.error
                    if report.online:
                        state.last_sync_at = time.time()
                        state.pushed += report.pushed
                        state.pulled += report.pulled
            return state

    def _reconnect(self) -> None:
        """A device that started without the chain tries to reach it at each sync."""
        assert self.connect is not None
        try:
            client = self.connect()
        except Exception as exc:  # still unreachable: the cached roots go on serving
            log.info("chain still unreachable: %s", exc)
            return
        if client is not None:
            self.service.client = client
            self.service.roots.client = client
            self.sync_state.chain_configured = True
            log.info("chain reachable again: roots will sync from it")

    def start_sync(self, every_s: float) -> None:
        """Sync now and every ``every_s`` seconds in a daemon thread, until :meth:`stop`."""

        def loop() -> None:
            while True:
                self.sync_now()
                if self._stop.wait(every_s):
                    return

        self._thread = threading.Thread(target=loop, name="gate-app-sync", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    # ---------------------------------------------------------------- status

    def status(self) -> dict[str, Any]:
        svc = self.service
        conflicts = svc.store.conflicts(svc.event)
        sync = self.sync_state
        with self._lock:
            counters = {key: self.counters.get(key, 0) for key in COUNTERS}
            recent = [asdict(v) for v in self.recent]
        online = sync.hub_online if sync.hub_configured else sync.chain_online
        return {
            "gate": svc.gate_id,
            "gate_label": gate_label(svc.gate_id),
            "event": svc.event,
            "event_name": self.name,
            "now": time.time(),
            "online": bool(online),
            "hub": {
                "configured": sync.hub_configured,
                "online": sync.hub_online,
                "last_sync_at": sync.last_sync_at,
                "last_sync": None if sync.last_sync_at is None else when(sync.last_sync_at),
                "last_error": sync.last_error,
                "waiting": len(svc.store.unpushed(svc.event, 10_000)),
            },
            "chain": {"configured": sync.chain_configured, "online": sync.chain_online},
            "lists": svc.roots.describe(),
            "entries": svc.store.count(svc.event),
            "counters": counters,
            "counter_labels": COUNTERS,
            "conflicts": [
                {
                    "nullifier": f"0x{c.nullifier:064x}",
                    "uses": [
                        {"gate": gate_label(e.gate_id), "at": when(e.checked_at)} for e in c.entries
                    ],
                }
                for c in conflicts
            ],
            "recent": recent,
        }


def staff_key(settings: Settings) -> str:
    """The key staff pair with: ``gate_staff_key``, else one made on the device's first start
    (32 random bytes, urlsafe) and kept in ``<gate_dir>/<gate_id>.staff-key``, readable by the
    owner only. It is not the hub key: a lost tablet must not let anyone push check-ins."""
    if settings.gate_staff_key is not None:
        return settings.gate_staff_key.get_secret_value()
    path = settings.gate_path / f"{settings.gate_id}.staff-key"
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = "fgs_" + secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(key + "\n")
    return key


def pairing_link(base_url: str, key: str) -> str:
    """``<base>/scanner#key=<key>``: the key rides in the fragment, which is never sent."""
    return f"{base_url.rstrip('/')}/scanner#key={quote(key, safe='')}"


class BodyLimit:
    """ASGI middleware: refuse a request body above ``max_bytes`` with 413, without reading it
    whole (a declared ``Content-Length`` is refused at once; a chunked body when it passes the
    limit)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = self.max_bytes + 1
                if declared > self.max_bytes:
                    await self._too_large(scope, receive, send)
                    return
        seen = 0
        refused = False

        async def limited() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request" and not refused:
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:  # answer now; the app sees the client gone
                    refused = True
                    await self._too_large(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:  # after a 413 whatever the app answers is dropped
                await send(message)

        await self.app(scope, limited, guarded_send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = {"detail": f"request too large (at most {self.max_bytes} bytes)"}
        await JSONResponse(body, status_code=413)(scope, receive, send)


_bearer = HTTPBearer(auto_error=False)


def _staff(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> GateApp:
    """The device's state, for a request that carries the gate's key (401 otherwise)."""
    state: GateApp = request.app.state.gate
    given = credentials.credentials if credentials else ""
    if not hmac.compare_digest(given.encode(), state.staff_key.encode()):
        raise HTTPException(
            401, "this device needs the gate's key", headers={"WWW-Authenticate": "Bearer"}
        )
    return state


Staff = Annotated[GateApp, Depends(_staff)]


class ScanRequest(BaseModel):
    """A scanned or typed code (length is judged by the scan itself, not refused as 422)."""

    model_config = ConfigDict(extra="forbid")

    code: str


GATE_SCANS = PromCounter(
    "fairgate_gate_scans_total",
    "Codes judged by this gate device, by verdict and reason code",
    ["verdict", "reason"],
)


def create_gate_app(
    service: GateService,
    *,
    staff_key: str,
    name: str | None = None,
    sync_every_s: float | None = 15.0,
    max_body: int = MAX_BODY,
    connect: Callable[[], TicketEventClient | None] | None = None,
) -> FastAPI:
    """The device service for ``service``; ``sync_every_s=None`` turns the background sync off
    (``POST /api/sync`` still syncs on demand). ``connect`` makes the chain client of a
    device that started offline (tried at each sync until it answers)."""
    if len(staff_key) < 16:
        raise ValueError("the gate's staff key must have at least 16 characters")
    state = GateApp(service, staff_key, name or service.event, connect)
    env = Environment(
        loader=FileSystemLoader([str(p) for p in TEMPLATES]),
        autoescape=select_autoescape(["html"]),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if sync_every_s is not None:
            state.start_sync(sync_every_s)
        yield
        state.stop()

    app = FastAPI(
        title="Fairgate gate device",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.gate = state

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/scanner")

    @app.get("/scanner", response_class=HTMLResponse)
    def scanner_page() -> HTMLResponse:
        html = env.get_template("scanner.html").render(nav="scanner")
        return HTMLResponse(
            html, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
        )

    @app.get("/api/status")
    def status(gate: Staff) -> dict[str, Any]:
        return gate.status()

    @app.post("/api/scan")
    def scan(body: ScanRequest, gate: Staff) -> dict[str, Any]:
        return asdict(gate.scan(body.code))

    @app.post("/api/sync")
    def sync(gate: Staff) -> dict[str, Any]:
        gate.sync_now()
        return gate.status()

    app.mount("/assets/css", StaticFiles(directory=STATIC_CSS), name="css")
    app.mount("/assets/js", StaticFiles(directory=BUNDLES, check_dir=False), name="js")

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        """Prometheus text format: this device's scans by verdict and reason, its HTTP requests
        (counts only; no code, nullifier or key is ever a label)."""
        body, content_type = exposition()
        return Response(body, media_type=content_type)

    app.add_middleware(BodyLimit, max_bytes=max_body)
    app.add_middleware(HttpMetrics, name="gate")
    return app


def serve_device(
    service: GateService,
    settings: Settings,
    *,
    name: str,
    host: str = "127.0.0.1",
    port: int = 8700,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    connect: Callable[[], TicketEventClient | None] | None = None,
    announce: Callable[[str], None] = log.warning,
) -> None:
    """Serve ``service`` until interrupted (``fairgate gate serve``, ``python -m gate serve``):
    ``announce`` gets the pairing link first. Closes the service at the end."""
    import uvicorn

    if (tls_cert is None) != (tls_key is None):
        raise ValueError("give both a TLS certificate and its key, or neither")
    key = staff_key(settings)
    app = create_gate_app(
        service,
        staff_key=key,
        name=name,
        sync_every_s=settings.gate_sync_every_s,
        max_body=settings.gate_max_body,
        connect=connect,
    )
    scheme = "https" if tls_cert else "http"
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 - display only
    announce(pairing_link(f"{scheme}://{shown}:{port}", key))
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level="warning",
            ssl_certfile=tls_cert,
            ssl_keyfile=tls_key,
        )
    finally:
        service.close()
