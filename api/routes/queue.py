"""The on-sale waiting room's endpoints (see :mod:`api.waiting_room`).

Organizers open and close an event's room; fans join it, poll their place and are admitted.
The fan's client is its ``fg_queue`` cookie (set on join when missing) plus its User-Agent; the
queue token travels in the ``fg_qt_<event>`` cookie (for the pages and their plain forms) or the
``X-Queue-Token`` header (API clients).
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta, timezone

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import AwareDatetime, BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import PrincipalDep
from api.errors import InvalidState, QueueRefused
from api.models import Event
from api.pages import render
from api.routes import errors
from api.services import auth
from api.waiting_room import (
    CLIENT_COOKIE,
    TOKEN_COOKIE,
    TOKEN_HEADER,
    Place,
    RedisUnavailable,
    RoomState,
    WaitingRoom,
    new_client_cookie,
)
from fairgate.errors import NotFound

log = logging.getLogger(__name__)
router = APIRouter(tags=["waiting room"])
EventId = Path(ge=1, le=2**31 - 1)
TOKEN_COOKIE_MAX_AGE_S = 24 * 3600


class RoomOpen(BaseModel):
    opens_at: AwareDatetime = Field(description="When the sale opens (admissions start)")
    admit_per_s: float = Field(gt=0, le=100_000, description="Fans admitted per second")


class RoomOut(BaseModel):
    event_id: int
    open: bool
    opens_at: datetime | None = None
    admit_per_s: float | None = None
    waiting: int = 0  # places not yet admitted
    admitted: int = 0


class PlaceOut(BaseModel):
    event_id: int
    place: int = Field(description="Your place in the queue (1 = first to arrive)")
    ahead: int = Field(description="Fans still waiting ahead of you")
    admitted: bool = Field(description="True: you may order now (one order per token)")
    estimate_s: float = Field(description="Estimated seconds until you are admitted")
    opens_at: datetime
    admit_per_s: float
    token: str = Field(description="Your queue token: send it with your order (X-Queue-Token)")


NO_ROOM = "this event has no waiting room open"


def _configured_room(request: Request) -> WaitingRoom | None:
    """The waiting room, or None on a bridge without Redis (where no event can have one open)."""
    room: WaitingRoom | None = request.app.state.waiting_room
    return room


def _room(request: Request) -> WaitingRoom:
    """The waiting room for a fan's call; without Redis no room is open, as for any event
    whose organizer opened none (404, like :meth:`WaitingRoom.join`)."""
    room = _configured_room(request)
    if room is None:
        raise NotFound(NO_ROOM)
    return room


def _organizers_room(request: Request) -> WaitingRoom:
    room = _configured_room(request)
    if room is None:
        raise InvalidState(
            "this bridge runs without Redis, so it cannot hold a waiting room "
            "(set FAIRGATE_REDIS_URL)"
        )
    return room


def client_binding(request: Request, room: WaitingRoom, cookie: str | None = None) -> str:
    """The binding of the client making ``request`` (its queue cookie and User-Agent)."""
    value = cookie if cookie is not None else request.cookies.get(CLIENT_COOKIE, "")
    return room.binding(value, request.headers.get("user-agent", ""))


def queue_token(request: Request, event_id: int) -> str | None:
    return request.headers.get(TOKEN_HEADER) or request.cookies.get(
        TOKEN_COOKIE.format(event=event_id)
    )


def _room_out(event_id: int, state: RoomState | None) -> RoomOut:
    if state is None:
        return RoomOut(event_id=event_id, open=False)
    admitted = int(state.admitted)
    return RoomOut(
        event_id=event_id,
        open=True,
        opens_at=datetime.fromtimestamp(state.opens_at, UTC),
        admit_per_s=state.rate,
        waiting=state.issued - admitted,
        admitted=admitted,
    )


def place_out(place: Place) -> PlaceOut:
    state = place.state
    return PlaceOut(
        event_id=place.event_id,
        place=place.place,
        ahead=state.position(place.place),
        admitted=state.is_admitted(place.place),
        estimate_s=round(state.wait_s(place.place), 1),
        opens_at=datetime.fromtimestamp(state.opens_at, UTC),
        admit_per_s=state.rate,
        token=place.token,
    )


async def _owned(request: Request, principal: auth.Principal, event_id: int) -> None:
    def check() -> None:
        with request.app.state.sessions() as session:
            auth.event_of_organizer(session, principal, event_id)

    await run_in_threadpool(check)


@router.put(
    "/organizer/events/{event_id}/waiting-room",
    response_model=RoomOut,
    responses=errors(401, 403, 404, 409, 422, 503),
)
async def open_room(
    body: RoomOpen, request: Request, principal: PrincipalDep, event_id: int = EventId
) -> RoomOut:
    """Open (or re-time) the event's waiting room: from now on its orders need admission."""
    await _owned(request, principal, event_id)
    state = await _organizers_room(request).open(
        event_id, opens_at=body.opens_at.timestamp(), rate_per_s=body.admit_per_s
    )
    log.info("waiting room opened", extra={"event_id": event_id, "rate": body.admit_per_s})
    return _room_out(event_id, state)


@router.delete(
    "/organizer/events/{event_id}/waiting-room",
    response_model=RoomOut,
    responses=errors(401, 403, 404, 503),
)
async def close_room(request: Request, principal: PrincipalDep, event_id: int = EventId) -> RoomOut:
    """Close the room: orders are no longer held back."""
    await _owned(request, principal, event_id)
    room = _configured_room(request)
    if room is not None:  # without Redis no room can be open: closing it is a no-op
        await room.close(event_id)
    log.info("waiting room closed", extra={"event_id": event_id})
    return RoomOut(event_id=event_id, open=False)


@router.get("/queue/{event_id}", response_model=RoomOut, responses=errors(422, 503))
async def room_state(request: Request, event_id: int = EventId) -> RoomOut:
    """Whether the event has a waiting room, and how many wait (counts only)."""
    room = _configured_room(request)
    return _room_out(event_id, None if room is None else await room.state(event_id))


@router.post("/queue/{event_id}/join", response_model=PlaceOut, responses=errors(404, 422, 503))
async def join(request: Request, response: Response, event_id: int = EventId) -> PlaceOut:
    """Take a place in the queue (the same one again when this client already has one)."""
    room = _room(request)
    cookie = request.cookies.get(CLIENT_COOKIE)
    if not cookie or len(cookie) > 64:
        cookie = new_client_cookie()
        response.set_cookie(
            CLIENT_COOKIE, cookie, httponly=True, samesite="lax", secure=_secure(request)
        )
    place = await room.join(event_id, client_binding(request, room, cookie))
    _set_token(request, response, place)
    return place_out(place)


@router.get(
    "/queue/{event_id}/status", response_model=PlaceOut, responses=errors(403, 404, 422, 503)
)
async def status(request: Request, event_id: int = EventId) -> PlaceOut:
    """Your place now (the token from the cookie or X-Queue-Token)."""
    room = _room(request)
    token = queue_token(request, event_id)
    if token is None:
        raise QueueRefused("queue_required", "join the queue first (no queue token)")
    return place_out(await room.status(token, event_id, client_binding(request, room)))


def _set_token(request: Request, response: Response, place: Place) -> None:
    response.set_cookie(
        TOKEN_COOKIE.format(event=place.event_id),
        place.token,
        max_age=TOKEN_COOKIE_MAX_AGE_S,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


class Admission:
    """An order's pass through the event's waiting room: :meth:`take` before the order is made,
    :meth:`give_back` if the order is then refused (bad input, sold out), so the fan can try
    again with the same token."""

    def __init__(self, request: Request, event_id: int) -> None:
        self.request = request
        self.event_id = event_id
        self.room: WaitingRoom | None = request.app.state.waiting_room
        self.place: int | None = None

    async def take(self) -> None:
        room = self.room
        if room is None or not room.shared.configured:
            return
        token = queue_token(self.request, self.event_id)
        binding = "" if token is None else client_binding(self.request, room)  # only a token's
        try:
            self.place = await room.claim(token, self.event_id, binding)
        except RedisUnavailable:  # no room can be known: keep selling (api.waiting_room)
            log.debug("waiting room unavailable: order not held back")

    async def give_back(self) -> None:
        if self.room is not None and self.place is not None:
            try:
                await self.room.release(self.event_id, self.place)
            except RedisUnavailable:
                log.warning("waiting room unavailable: admission %d not given back", self.place)
            self.place = None


# -- the fan's page --------------------------------------------------------------------------


def _wait_words(seconds: float) -> str:
    if seconds < 1:
        return "any moment now"
    if seconds < 60:
        return f"under a minute (about {math.ceil(seconds)} s)"
    minutes = round(seconds / 60)
    return f"about {minutes} minute{'s' if minutes != 1 else ''}"


def event_clock(when: datetime, offset_min: int, *, date: bool = False) -> str:
    """A time as the fan's page shows it everywhere: in the event's own time zone, labelled with
    its offset (``18:00:00 (UTC+01:00)``), never the browser's zone or a 12-hour clock.
    ``web/src/queue.js`` writes the same form."""
    local = when.astimezone(timezone(timedelta(minutes=offset_min)))
    sign = "-" if offset_min < 0 else "+"
    hours, minutes = divmod(abs(offset_min), 60)
    shown = local.strftime("%a %d %b %Y, %H:%M:%S" if date else "%H:%M:%S")
    return f"{shown} (UTC{sign}{hours:02d}:{minutes:02d})"


def _status_words(out: PlaceOut, now: float, offset_min: int) -> str:
    if out.admitted:
        return "It is your turn: you may buy your tickets now."
    if out.opens_at.timestamp() > now:
        opens = event_clock(out.opens_at, offset_min)
        return f"You are number {out.place}. The sale opens at {opens}; you will be let in in turn."
    if out.ahead == 0:
        return f"You are next (number {out.place})."
    return (
        f"You are number {out.place}: {out.ahead} fan{'s' if out.ahead != 1 else ''} ahead of you."
    )


@router.get("/event/{event_id}/queue", response_class=HTMLResponse, include_in_schema=False)
async def queue_page(request: Request, event_id: int = EventId) -> HTMLResponse:
    """The fan's waiting-room page: position, estimate, and on to the tickets when admitted
    (``web/src/queue.js`` moves it forward; without JavaScript a reload does)."""
    event = await run_in_threadpool(_event_or_404, request, event_id)
    room = _configured_room(request)
    state = None if room is None else await room.state(event_id)
    out: PlaceOut | None = None
    token = queue_token(request, event_id)
    if room is not None and state is not None and token is not None:
        try:
            out = place_out(await room.status(token, event_id, client_binding(request, room)))
        except QueueRefused:
            out = None  # a token of another browser or a damaged one: join again
    offset = event.starts_at_offset_min  # the page's times are the event's local times
    room_out = _room_out(event_id, state)
    page = render(
        request,
        "queue.html",
        event=event,
        room=room_out,
        place=out,
        status_text=_status_words(out, state.now, offset) if out and state else "",
        offset_min=offset,
        opens_text=event_clock(room_out.opens_at, offset, date=True) if room_out.opens_at else "",
        estimate_text=("none" if out.admitted else _wait_words(out.estimate_s)) if out else "",
    )
    page.headers["Cache-Control"] = "no-store"
    return page


@router.post("/event/{event_id}/queue", include_in_schema=False)
async def queue_page_join(request: Request, event_id: int = EventId) -> RedirectResponse:
    """The page's plain form (no JavaScript): take a place, then back to the page."""
    response = RedirectResponse(f"/event/{event_id}/queue", status_code=303)
    await join(request, response, event_id)
    return response


def _event_or_404(request: Request, event_id: int) -> Event:
    with request.app.state.sessions() as session:
        event: Event | None = session.get(Event, event_id)
        if event is None:
            raise NotFound("no such event")
        session.expunge(event)
        return event
