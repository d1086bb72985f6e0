"""The organizer dashboard (server-rendered pages under ``/dashboard``).

Authentication is a browser session opened by Sign-In with Ethereum (:mod:`api.services.accounts`),
never an API key: those stay for machines. Every state-changing request carries the session's
CSRF token (form field ``csrf_token`` or header ``X-CSRF-Token``). A page asked for without a
session redirects to the sign-in page; a JSON or CSV endpoint answers 401. Another organizer's
event answers 404, as the API does.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from eth_abi.abi import encode
from eth_utils.abi import function_signature_to_4byte_selector
from eth_utils.address import to_checksum_address
from fastapi import APIRouter, Cookie, Depends, Form, Header, Request
from fastapi import Path as PathParam
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.accounts import BridgeAccounts
from api.deps import ChainDep, ClientDep, SessionDep, SettingsDep
from api.errors import InvalidRequest, RateLimited, Unauthorized
from api.models import ApiKey, Event, EventState, Organizer, Role, utcnow
from api.pages import TEMPLATES, render
from api.ratelimit import TokenBuckets
from api.schemas import EventCreate, TierCreate
from api.services import accounts, activity, analytics, audit, auth, catalog, refunds, second_factor
from api.services.accounts import COOKIE, SESSION_TTL_S, SignedIn
from chain.deploy import load_deployment
from chain.erc20 import currency_at
from chain.types import Currency
from fairgate.errors import Conflict, NotFound, TicketError
from fairgate.settings import Settings
from metadata import erc721
from metadata.errors import MetadataError
from metadata.store import store_from_settings

log = logging.getLogger(__name__)
router = APIRouter(prefix="/dashboard", tags=["dashboard"], include_in_schema=False)


def short_actor(actor: str) -> str:
    """``wallet 0x976E…0aa9``: an address shortened for narrow screens (full text in title)."""
    return re.sub(r"0x([0-9a-fA-F]{4})[0-9a-fA-F]{32}([0-9a-fA-F]{4})", r"0x\1…\2", actor)


TEMPLATES.env.filters["short_actor"] = short_actor


def site_of(settings: Settings) -> tuple[str, str]:
    """``(domain, origin)`` that sign-in messages must name: the bridge's public URL."""
    parts = urlsplit(settings.public_url)
    return parts.netloc, f"{parts.scheme}://{parts.netloc}"


def get_signed_in(
    session: SessionDep, fg_session: Annotated[str | None, Cookie()] = None
) -> SignedIn:
    return accounts.signed_in(session, fg_session)


SignedInDep = Annotated[SignedIn, Depends(get_signed_in)]


def get_signed_in_page(
    request: Request, session: SessionDep, fg_session: Annotated[str | None, Cookie()] = None
) -> SignedIn:
    try:
        return accounts.signed_in(session, fg_session)
    except Unauthorized as exc:
        raise LoginRedirect(request.url.path) from exc


class LoginRedirect(Exception):
    """A page was asked for without a session: the handler sends the browser to sign in."""

    def __init__(self, after: str) -> None:
        self.after = after


PageUserDep = Annotated[SignedIn, Depends(get_signed_in_page)]


def wants_page(request: Request) -> bool:
    """A browser's form post or page under /dashboard (not fetch() or a program): errors are
    shown as a page then, not as JSON."""
    return request.url.path.startswith("/dashboard") and "text/html" in request.headers.get(
        "accept", ""
    )


def error_page(request: Request, exc: TicketError, status: int) -> HTMLResponse:
    referer = urlsplit(request.headers.get("referer", ""))
    back = referer.path if referer.path.startswith("/dashboard") else "/dashboard"
    return render(
        request,
        "dashboard/error.html",
        status_code=status,
        who=None,
        message=exc.message,
        back=back,
    )


async def csrf_protected(
    request: Request,
    who: SignedInDep,
    x_csrf_token: Annotated[str | None, Header()] = None,
) -> SignedIn:
    """The signed-in organizer of a state-changing request whose CSRF token is right."""
    sent = x_csrf_token
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    accounts.check_csrf(who, sent)
    return who


CsrfDep = Annotated[SignedIn, Depends(csrf_protected)]


# ---- sign-in ---------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, settings: SettingsDep, next: str = "/dashboard") -> HTMLResponse:
    after = next if next.startswith("/dashboard") and "//" not in next else "/dashboard"
    return render(
        request,
        "dashboard/login.html",
        nav="dashboard",
        after=after,
        chain_id=settings.chain_id,
    )


class MessageRequest(BaseModel):
    address: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")


class VerifyRequest(BaseModel):
    message: str = Field(max_length=4000)
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$")


SIWE_RATE_PER_S = 0.5  # sign-in messages per client address: each one is a stored nonce
SIWE_BURST = 10


@router.post("/siwe/message")
def siwe_message(
    request: Request,
    body: MessageRequest,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
) -> dict[str, str]:
    limiter = getattr(request.app.state, "siwe_limiter", None)
    if limiter is None:
        limiter = request.app.state.siwe_limiter = TokenBuckets(SIWE_RATE_PER_S, SIWE_BURST)
    try:
        limiter.take(client)
    except RateLimited as exc:
        exc.message = "too many sign-in attempts from this address; wait a little"
        raise
    accounts.purge_expired_nonces(session)
    domain, origin = site_of(settings)
    message = accounts.new_message(
        session, address=body.address, domain=domain, origin=origin, chain_id=settings.chain_id
    )
    session.commit()
    return {"message": message.text(), "nonce": message.nonce}


@router.post("/siwe/verify")
def siwe_verify(
    request: Request,
    body: VerifyRequest,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
) -> JSONResponse:
    domain, origin = site_of(settings)
    token, who = accounts.sign_in(
        session,
        message=body.message,
        signature=body.signature,
        domain=domain,
        origin=origin,
        chain_id=settings.chain_id,
        client=client,
    )
    response = JSONResponse({"organizer_id": who.organizer_id, "address": who.address})
    response.set_cookie(
        COOKIE,
        token,
        max_age=SESSION_TTL_S,
        path="/",
        httponly=True,
        samesite="strict",
        secure=origin.startswith("https://") or request.url.scheme == "https",
    )
    return response


@router.post("/logout")
def logout(who: CsrfDep, session: SessionDep, client: ClientDep) -> Response:
    accounts.sign_out(session, who, client)
    response = RedirectResponse("/dashboard/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


# ---- pages -----------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def events_page(request: Request, who: PageUserDep, session: SessionDep) -> HTMLResponse:
    organizer = session.get(Organizer, who.organizer_id)
    events = session.scalars(
        select(Event).where(Event.organizer_id == who.organizer_id).order_by(Event.starts_at)
    ).all()
    return render(
        request,
        "dashboard/events.html",
        nav="dashboard",
        who=who,
        organizer=organizer,
        events=events,
    )


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, who: PageUserDep, session: SessionDep) -> HTMLResponse:
    return render(
        request,
        "dashboard/audit.html",
        nav="audit",
        who=who,
        entries=audit.rows(session, who.organizer_id),
    )


@router.get("/audit.csv")
def audit_csv(who: SignedInDep, session: SessionDep) -> Response:
    return Response(
        audit.csv_of(audit.rows(session, who.organizer_id, limit=100_000)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'},
    )


# ---- second factor ---------------------------------------------------------------------------


@router.get("/security", response_class=HTMLResponse)
def security_page(request: Request, who: PageUserDep, session: SessionDep) -> HTMLResponse:
    return render(
        request,
        "dashboard/security.html",
        nav="security",
        who=who,
        enrolled=second_factor.is_enrolled(session, who.organizer_id),
        recovery_left=second_factor.unused_recovery_codes(session, who.organizer_id),
    )


@router.post("/security/totp", response_class=HTMLResponse)
def totp_start(request: Request, who: CsrfDep, session: SessionDep) -> HTMLResponse:
    secret = second_factor.start_enrolment(session, who.organizer_id)
    session.commit()
    uri = second_factor.provisioning_uri(secret, who.address)
    return render(
        request,
        "dashboard/totp_enrol.html",
        nav="security",
        who=who,
        secret=secret,
        qr=second_factor.qr_svg_data_uri(uri),
    )


@router.post("/security/totp/confirm", response_class=HTMLResponse)
def totp_confirm(
    request: Request,
    who: CsrfDep,
    session: SessionDep,
    client: ClientDep,
    code: Annotated[str, Form(max_length=32)],
) -> HTMLResponse:
    codes = second_factor.confirm_enrolment(
        session, who.organizer_id, code, actor=who.actor, client=client
    )
    return render(request, "dashboard/recovery_codes.html", nav="security", who=who, codes=codes)


# ---- API keys (machines) ---------------------------------------------------------------------

TotpCode = Annotated[str | None, Form(max_length=32)]


@router.get("/keys", response_class=HTMLResponse)
def keys_page(request: Request, who: PageUserDep, session: SessionDep) -> HTMLResponse:
    keys = session.scalars(
        select(ApiKey)
        .where(ApiKey.organizer_id == who.organizer_id, ApiKey.role == Role.ORGANIZER)
        .order_by(ApiKey.id)
    ).all()
    return render(request, "dashboard/keys.html", nav="keys", who=who, keys=keys)


@router.post("/keys", response_class=HTMLResponse)
def create_api_key(
    request: Request,
    who: CsrfDep,
    session: SessionDep,
    client: ClientDep,
    label: Annotated[str, Form(max_length=100)] = "",
    totp_code: TotpCode = None,
) -> HTMLResponse:
    used = second_factor.require_fresh(session, who.organizer_id, totp_code)
    key = auth.issue_key(
        session, Role.ORGANIZER, organizer_id=who.organizer_id, label=label or "dashboard key"
    )
    audit.record(
        session,
        actor=who.actor,
        organizer_id=who.organizer_id,
        client=client,
        action="api_key_create",
        target=f"key {key.split('_')[1]}",
        after={"label": label, "second_factor": used},
    )
    session.commit()
    return render(request, "dashboard/key_created.html", nav="keys", who=who, key=key, pairing=None)


@router.post("/keys/{key_id}/revoke")
def revoke_key(
    who: CsrfDep,
    session: SessionDep,
    client: ClientDep,
    key_id: Annotated[str, PathParam(pattern=r"^[0-9a-f]{1,32}$")],
    totp_code: TotpCode = None,
) -> Response:
    row = session.scalar(select(ApiKey).where(ApiKey.key_id == key_id))
    if row is None or row.organizer_id != who.organizer_id:
        raise NotFound("no such key")
    used = second_factor.require_fresh(session, who.organizer_id, totp_code)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(
            session,
            actor=who.actor,
            organizer_id=who.organizer_id,
            client=client,
            action=f"{row.role}_key_revoke",
            target=f"key {row.key_id}",
            before={"revoked": False, "label": row.label},
            after={"revoked": True, "second_factor": used},
        )
        session.commit()
    back = f"/dashboard/events/{row.event_id}" if row.event_id else "/dashboard/keys"
    return RedirectResponse(back, status_code=303)


# ---- events ----------------------------------------------------------------------------------


def my_event(session: Session, who: SignedIn, event_id: int) -> Event:
    """The event if the signed-in organizer organizes it; 404 otherwise (no probing)."""
    event = session.get(Event, event_id)
    if event is None or event.organizer_id != who.organizer_id:
        raise NotFound("no such event")
    return event


EventIdParam = Annotated[int, PathParam(ge=1, le=2**31 - 1)]


@router.get("/events/{event_id:int}", response_class=HTMLResponse)
def event_page(
    request: Request,
    who: PageUserDep,
    session: SessionDep,
    settings: SettingsDep,
    event_id: EventIdParam,
) -> HTMLResponse:
    event = my_event(session, who, event_id)
    gate_keys = session.scalars(
        select(ApiKey)
        .where(ApiKey.event_id == event.id, ApiKey.role == Role.GATE)
        .order_by(ApiKey.id)
    ).all()
    return render(
        request,
        "dashboard/event.html",
        nav="dashboard",
        who=who,
        event=event,
        gate_keys=gate_keys,
        currency=settings.currency,
        enrolled=second_factor.is_enrolled(session, who.organizer_id),
        pending=pending_organizer(request.app.state.chain, event),
    )


@router.post("/events/{event_id:int}/gate-keys", response_class=HTMLResponse)
def create_gate_key(
    request: Request,
    who: CsrfDep,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    event_id: EventIdParam,
    label: Annotated[str, Form(max_length=100)] = "",
    gate_name: Annotated[str, Form(max_length=64)] = "",
    totp_code: TotpCode = None,
) -> HTMLResponse:
    event = my_event(session, who, event_id)
    gate = gate_name.strip() or None
    if gate is not None and not auth.GATE_NAME.fullmatch(gate):
        raise InvalidRequest(f"gate {gate!r}: a gate name is 1-64 letters, digits, '_', '.' or '-'")
    used = second_factor.require_fresh(session, who.organizer_id, totp_code)
    key = auth.issue_key(
        session,
        Role.GATE,
        event_id=event.id,
        organizer_id=event.organizer_id,
        label=label or f"gate of event {event.id}",
        gate_name=gate,
    )
    gate = gate or f"gate-{key.split('_')[1]}"
    audit.record(
        session,
        actor=who.actor,
        organizer_id=who.organizer_id,
        client=client,
        action="gate_key_create",
        target=f"event {event.id}",
        after={
            "key_id": key.split("_")[1],
            "label": label,
            "gate_name": gate,
            "second_factor": used,
        },
    )
    session.commit()
    return render(
        request,
        "dashboard/key_created.html",
        nav="dashboard",
        who=who,
        key=key,
        event=event,
        gate_name=gate,
        pairing=pairing_link(settings, key),
    )


def pairing_link(settings: Settings, key: str) -> str | None:
    """``<gate device>/scanner#key=<key>``: the fragment never reaches a server's logs."""
    if not settings.gate_device_url:
        return None
    return f"{settings.gate_device_url.rstrip('/')}/scanner#key={quote(key, safe='')}"


def pending_organizer(chain: BridgeAccounts | None, event: Event) -> str | None:
    """The wallet proposed as the event's next organizer, waiting to accept (two-step hand-over),
    or None: none proposed, no chain, or a contract build without the two-step hand-over."""
    if chain is None or not event.contract_address:
        return None
    contract = chain.event(str(event.contract_address))
    if not any(e.get("name") == "pendingOrganizer" for e in contract.artifact.abi):
        return None
    try:
        return contract.pending_organizer()
    except TicketError:
        return None


@router.post("/events/{event_id:int}/accept", response_class=HTMLResponse)
def accept_organizer(
    request: Request,
    who: CsrfDep,
    session: SessionDep,
    chain: ChainDep,
    client: ClientDep,
    event_id: EventIdParam,
) -> HTMLResponse:
    """The second step of the organizer hand-over: the proposed wallet (the signed-in one)
    accepts the event by sending ``acceptOrganizer()`` from the wallet."""
    event = my_event(session, who, event_id)
    pending = pending_organizer(chain, event)
    if pending is None or pending != who.address:
        raise Conflict(f"{who.address} is not the wallet proposed as this event's organizer")
    audit.record(
        session,
        actor=who.actor,
        organizer_id=who.organizer_id,
        client=client,
        action="organizer_accept_signing",
        target=f"event {event.id}",
        before={"organizer": chain.event(str(event.contract_address)).organizer()},
        after={"organizer": pending},
    )
    session.commit()
    return render(
        request,
        "dashboard/sign_tx.html",
        factor_checked=False,
        nav="dashboard",
        who=who,
        event=event,
        what=f"Accept {event.name}",
        to=event.contract_address,
        data=wallet_call("acceptOrganizer()"),
        owner=pending,
    )


def owned_by_wallet(chain: BridgeAccounts, event: Event) -> bool:
    """True when the organizer's wallet, not the bridge's operator, is the contract's organizer:
    then only that wallet can cancel or withdraw, and the dashboard asks it to sign."""
    return bool(event.contract_address) and (
        chain.event(str(event.contract_address)).organizer() != chain.operator.address
    )


def wallet_call(signature: str, *args: Any) -> str:
    """Calldata of ``signature`` (e.g. ``cancel()``) with ``args`` ABI-encoded."""
    types = signature[signature.index("(") + 1 : -1]
    encoded = encode([t for t in types.split(",") if t], list(args)) if types else b""
    return "0x" + (function_signature_to_4byte_selector(signature) + encoded).hex()


@router.post("/events/{event_id:int}/cancel", response_model=None)
def cancel_event(
    request: Request,
    who: CsrfDep,
    session: SessionDep,
    chain: ChainDep,
    client: ClientDep,
    event_id: EventIdParam,
    totp_code: TotpCode = None,
) -> Response:
    """Cancel (and so start the refunds of) an event, after a fresh second-factor code. An event
    the organizer's wallet owns is cancelled by that wallet: the page asks it to send
    ``cancel()``, and the bridge refunds the card orders when its indexer sees it."""
    event = my_event(session, who, event_id)
    used = second_factor.require_fresh(session, who.organizer_id, totp_code)
    before = {"state": event.state}
    if event.state == EventState.ACTIVE and owned_by_wallet(chain, event):
        audit.record(
            session,
            actor=who.actor,
            organizer_id=who.organizer_id,
            client=client,
            action="event_cancel_signing",
            target=f"event {event.id}",
            before=before,
            after={"via": "organizer wallet", "second_factor": used},
        )
        session.commit()
        return render(
            request,
            "dashboard/sign_tx.html",
            factor_checked=True,
            nav="dashboard",
            who=who,
            event=event,
            what="Cancel the event",
            to=event.contract_address,
            data=wallet_call("cancel()"),
            owner=chain.event(str(event.contract_address)).organizer(),
        )
    event = refunds.cancel_event(session, chain, event)
    session.refresh(event)
    audit.record(
        session,
        actor=who.actor,
        organizer_id=who.organizer_id,
        client=client,
        action="event_cancel",
        target=f"event {event.id}",
        before=before,
        after={"state": event.state, "second_factor": used},
    )
    session.commit()
    return RedirectResponse(f"/dashboard/events/{event.id}", status_code=303)


@router.post("/events/{event_id:int}/withdraw", response_class=HTMLResponse)
def withdraw(
    request: Request,
    who: CsrfDep,
    session: SessionDep,
    chain: ChainDep,
    client: ClientDep,
    event_id: EventIdParam,
    to: Annotated[str, Form(pattern=r"^0x[0-9a-fA-F]{40}$")],
    totp_code: TotpCode = None,
) -> HTMLResponse:
    """Withdraw the event's proceeds to ``to``, after a fresh second-factor code: the organizer's
    wallet signs ``withdrawProceeds(to)`` (the bridge never holds an event's money)."""
    event = my_event(session, who, event_id)
    if not owned_by_wallet(chain, event):
        raise Conflict("the bridge's operator keeps this event: its proceeds are paid out by it")
    used = second_factor.require_fresh(session, who.organizer_id, totp_code)
    recipient = to_checksum_address(to)
    audit.record(
        session,
        actor=who.actor,
        organizer_id=who.organizer_id,
        client=client,
        action="withdraw_signing",
        target=f"event {event.id}",
        after={"to": recipient, "second_factor": used},
    )
    session.commit()
    return render(
        request,
        "dashboard/sign_tx.html",
        factor_checked=True,
        nav="dashboard",
        who=who,
        event=event,
        what=f"Withdraw the proceeds to {recipient}",
        to=event.contract_address,
        data=wallet_call("withdrawProceeds(address)", recipient),
        owner=chain.event(str(event.contract_address)).organizer(),
    )


# ---- live analytics --------------------------------------------------------------------------

STREAM_POLL_S = 0.25  # how often an open dashboard looks for new logs, orders and check-ins
STREAM_PING_S = 15.0
_follow_locks: dict[int, threading.Lock] = {}


def refresh(
    request: Request, event_id: int, known: list[int] | None = None
) -> tuple[list[int], dict[str, Any] | None]:
    """Read the event's new on-chain activity (one follower per event per process at a time),
    then its stats: ``(version, stats)``; stats None when the version is still ``known`` (or
    the event is gone). Runs in the thread pool."""
    chain: BridgeAccounts | None = request.app.state.chain
    lock = _follow_locks.setdefault(event_id, threading.Lock())
    with request.app.state.sessions() as session:
        if chain is not None and lock.acquire(blocking=False):
            try:
                activity.follow(session, chain, event_id)
            except TicketError as exc:  # the node is away: show what is known
                log.warning("following event %d: %s", event_id, exc)
                session.rollback()
            finally:
                lock.release()
        event = session.get(Event, event_id)
        if event is None:
            return [], None
        current = list(analytics.version(session, event))
        if current == known:
            return current, None
        return current, analytics.stats(session, event)


@router.get("/events/{event_id:int}/stats.json")
async def stats_json(
    request: Request, who: SignedInDep, session: SessionDep, event_id: EventIdParam
) -> JSONResponse:
    await run_in_threadpool(my_event, session, who, event_id)
    _, data = await run_in_threadpool(refresh, request, event_id)
    return JSONResponse(data)


@router.get("/events/{event_id:int}/stream")
async def stream(
    request: Request, who: SignedInDep, session: SessionDep, event_id: EventIdParam
) -> StreamingResponse:
    """Server-sent events: ``stats`` with the whole numbers each time they change (a sale, a
    resale, a check-in, a paid order), a comment line as keep-alive otherwise. Each poll uses a
    session of its own: the request's is closed at once, so an open dashboard holds no pooled
    connection between polls."""
    await run_in_threadpool(my_event, session, who, event_id)
    await run_in_threadpool(session.close)

    async def events() -> AsyncIterator[str]:
        sent: list[int] | None = None
        quiet = 0.0
        while not await request.is_disconnected():
            current, data = await run_in_threadpool(refresh, request, event_id, sent)
            if data is not None and current != sent:
                sent = current
                quiet = 0.0
                yield f"event: stats\ndata: {json.dumps(data)}\n\n"
            elif quiet >= STREAM_PING_S:
                quiet = 0.0
                yield ": keep-alive\n\n"
            await asyncio.sleep(STREAM_POLL_S)
            quiet += STREAM_POLL_S

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/events/{event_id:int}/insights.json")
def insights_json(
    request: Request, who: SignedInDep, session: SessionDep, event_id: EventIdParam
) -> JSONResponse:
    """Sell-out forecasts per tier (with intervals) and scalping/fraud signals (with evidence)."""
    event = my_event(session, who, event_id)
    refresh(request, event_id)
    session.expire_all()
    return JSONResponse(analytics.insights(session, event))


CsvTable = Annotated[
    str, PathParam(pattern=r"^(sales|resales|checkins|refusals|tiers|forecast|signals)$")
]


@router.get("/events/{event_id:int}/export/{table}.csv")
def export_csv(
    who: SignedInDep, session: SessionDep, event_id: EventIdParam, table: CsvTable
) -> Response:
    event = my_event(session, who, event_id)
    if table in ("forecast", "signals"):
        body = analytics.insight_csvs(analytics.insights(session, event))[table]
    else:
        body = analytics.csv_tables(session, event)[table]
    name = f"{event.symbol.lower()}-{table}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# ---- create an event -------------------------------------------------------------------------

TIER_SLOTS = 3  # tier fieldsets on the form (no script needed); blank ones are ignored
MAX_FORM_IMAGE = 5 * 1024 * 1024


def _new_event_page(
    request: Request, who: SignedIn, *, values: dict[str, str], error: str | None, status: int
) -> HTMLResponse:
    settings = request.app.state.settings
    return render(
        request,
        "dashboard/event_new.html",
        status_code=status,
        nav="new",
        who=who,
        values=values,
        error=error,
        slots=range(TIER_SLOTS),
        currency=settings.currency,
        stablecoin=_dev_stablecoin(request.app.state.chain, settings),
    )


def _dev_stablecoin(chain: BridgeAccounts | None, settings: Settings) -> Currency | None:
    """The development chain's test stablecoin (``fairgate dev up`` deploys it), to name on the
    form; None elsewhere or when the chain cannot say."""
    if chain is None or settings.env == "prod":
        return None
    try:
        deployment = load_deployment(chain.w3, settings)
        if deployment is None or not deployment.stablecoin:
            return None
        return currency_at(chain.w3, deployment.stablecoin)
    except Exception:  # a hint only: the form works without it
        log.info("no test stablecoin to name on the new-event form", exc_info=True)
        return None


@router.get("/events/new", response_class=HTMLResponse)
def new_event_page(request: Request, who: PageUserDep) -> HTMLResponse:
    return _new_event_page(request, who, values={}, error=None, status=200)


def _utc(value: str, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidRequest(f"{field}: enter a date and time") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _symbol(name: str) -> str:
    letters = re.sub(r"[^A-Za-z0-9]", "", name).upper()
    return (letters or "EVENT")[:11]


def event_request(form: dict[str, str], address: str) -> tuple[EventCreate, list[str]]:
    """The bridge's :class:`EventCreate` from the form's fields (times in UTC), and tier names.

    Prices: the card price in the card currency (e.g. 45.00), the face value in the event's
    on-chain currency (``chain_currency``: ETH or a token's address; converted with the token's
    decimals when it is created), the cap and royalty in percent. Resale opens now and closes an
    hour before doors unless given."""
    starts = _utc(form.get("starts_at", ""), "starts")
    ends = _utc(form.get("ends_at", ""), "ends")
    now = int(datetime.now(UTC).timestamp())
    opens = (
        int(_utc(form["resale_opens_at"], "resale opens").timestamp())
        if form.get("resale_opens_at")
        else now
    )
    closes = (
        int(_utc(form["resale_closes_at"], "resale closes").timestamp())
        if form.get("resale_closes_at")
        else int(starts.timestamp()) - 3600
    )
    tiers = []
    names = []
    for i in range(TIER_SLOTS):
        name = form.get(f"tier_name_{i}", "").strip()
        if not name:
            continue
        try:
            tiers.append(
                TierCreate(
                    name=name,
                    price_cents=round(Decimal(form.get(f"tier_price_{i}") or "0") * 100),
                    face_value=(form.get(f"tier_face_{i}") or "0").strip(),
                    supply=int(form.get(f"tier_supply_{i}") or "0"),
                    resale_cap_bps=round(Decimal(form.get(f"tier_cap_pct_{i}") or "110") * 100),
                    royalty_bps=round(Decimal(form.get(f"tier_royalty_pct_{i}") or "5") * 100),
                    resale_opens_at=opens,
                    resale_closes_at=closes,
                )
            )
        except (ArithmeticError, ValueError) as exc:
            raise InvalidRequest(f"tier {i + 1} ({name}): {_first_error(exc)}") from exc
        names.append(name)
    if not tiers:
        raise InvalidRequest("add at least one tier (a name, a price and a supply)")
    try:
        body = EventCreate(
            name=form.get("name", "").strip(),
            symbol=form.get("symbol", "").strip() or _symbol(form.get("name", "")),
            venue=form.get("venue", "").strip(),
            starts_at=starts,
            ends_at=ends,
            tiers=tiers,
            organizer_address=address,
            gate_address=address,
            chain_currency=form.get("chain_currency", "").strip() or "ETH",
        )
    except ValueError as exc:
        raise InvalidRequest(_first_error(exc)) from exc
    return body, names


def _tier_label(match: re.Match[str]) -> str:
    return f"Tier {int(match.group(1)) + 1} face value:"


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg"))
    return str(exc) or "not a number"


@router.post("/events/new", response_class=HTMLResponse, response_model=None)
async def create_event(
    request: Request,
    who: CsrfDep,
    session: SessionDep,
    chain: ChainDep,
    settings: SettingsDep,
    client: ClientDep,
) -> Response:
    """Pin the event's metadata (the image, event.json, one JSON per tier) to IPFS, then deploy
    it through the bridge with the signed-in wallet as its on-chain organizer."""
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    upload = form.get("image")
    try:
        body, names = event_request(values, who.address)
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InvalidRequest("choose an image for the event (PNG, JPEG, GIF or WebP)")
        image = await upload.read(MAX_FORM_IMAGE + 1)
        if len(image) > MAX_FORM_IMAGE:
            raise InvalidRequest("the image is larger than 5 MB")
        # the currency and face values, checked on the chain before anything is pinned; the
        # API's field names become the form's labels
        try:
            await run_in_threadpool(catalog.priced_tiers, chain, body)
        except InvalidRequest as exc:
            words = exc.message.replace("chain_currency:", "Paid on-chain in:")
            words = re.sub(r"^tiers\.(\d+)\.face_value:", _tier_label, words)
            raise InvalidRequest(words) from None
        bundle = erc721.build_event_bundle(
            erc721.Event(
                name=body.name,
                description=values.get("description", "").strip() or body.name,
                venue=body.venue,
                start_time=body.starts_at,
                image=image,
            ),
            [erc721.Tier(tier_id=i, name=n) for i, n in enumerate(names)],
        )
    except (InvalidRequest, MetadataError) as exc:
        return _new_event_page(request, who, values=values, error=exc.message, status=422)
    cid = await run_in_threadpool(store_from_settings(settings).put_directory, bundle.files)
    body = body.model_copy(update={"base_uri": bundle.base_uri})
    event = await run_in_threadpool(catalog.create_event, session, chain, who.organizer_id, body)
    out = catalog.event_out(event, settings.currency)
    audit.record(
        session,
        actor=who.actor,
        organizer_id=who.organizer_id,
        client=client,
        action="event_create",
        target=f"event {event.id}",
        after={**out.model_dump(mode="json"), "metadata_cid": str(cid)},
    )
    await run_in_threadpool(session.commit)
    return RedirectResponse(f"/dashboard/events/{event.id}", status_code=303)
