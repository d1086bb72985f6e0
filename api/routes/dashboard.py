"""The organizer dashboard (server-rendered pages under ``/dashboard``).

Authentication is a browser session opened by Sign-In with Ethereum (:mod:`api.services.accounts`),
never an API key: those stay for machines. Every state-changing request carries the session's
CSRF token (form field ``csrf_token`` or header ``X-CSRF-Token``). A page asked for without a
session redirects to the sign-in page; a JSON or CSV endpoint answers 401. Another organizer's
event answers 404, as the API does.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Cookie, Depends, Header, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.deps import ClientDep, SessionDep, SettingsDep
from api.errors import Unauthorized
from api.models import Event, Organizer
from api.pages import TEMPLATES, render
from api.services import accounts, audit
from api.services.accounts import COOKIE, SESSION_TTL_S, SignedIn
from fairgate.settings import Settings

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


@router.post("/siwe/message")
def siwe_message(
    body: MessageRequest, session: SessionDep, settings: SettingsDep
) -> dict[str, str]:
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
