"""The fan pages (server-rendered, Jinja2): ``/event/{id}`` and ``/me``.

The event page is complete without JavaScript (tiers, prices, remaining seats, resale cap and
royalty, resale window, cancellation, the tier's metadata and image from IPFS through the
gateway); the wallet script (``/assets/js/fan.js``) adds buying with ETH to it. ``/me`` is the
wallet page: connect (EIP-6963), my tickets, the market actions and "Show at the gate".
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from api.deps import SessionDep
from api.models import Event, EventState
from api.pages import TEMPLATES, render
from api.services import fan
from fairgate.errors import NotFound, TicketError
from metadata.store import store_from_settings

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)
EventId = Path(ge=1, le=2**31 - 1)


def eth(wei: int | str) -> str:
    """Wei as ETH in plain decimals (no float rounding, no trailing zeros)."""
    value = Decimal(int(wei)) / Decimal(10**18)
    text = format(value.normalize(), "f")
    return f"{text} ETH"


def bps(value: int) -> str:
    """Basis points as a percentage (11000 -> 110%)."""
    return format((Decimal(value) / 100).normalize(), "f") + "%"


def when(unix: int) -> str:
    return datetime.fromtimestamp(int(unix), UTC).strftime("%d %b %Y, %H:%M UTC")


TEMPLATES.env.filters.setdefault("eth", eth)
TEMPLATES.env.filters.setdefault("bps", bps)
TEMPLATES.env.filters.setdefault("when", when)


@router.get("/event/{event_id}", response_class=HTMLResponse)
def event_page(request: Request, session: SessionDep, event_id: int = EventId) -> HTMLResponse:
    event = session.get(Event, event_id)
    if event is None or event.state not in (EventState.ACTIVE, EventState.CANCELLED):
        raise NotFound("no such event")
    chain = request.app.state.chain
    settings = request.app.state.settings
    tiers: list[fan.TierView] = []
    cancelled = event.state == EventState.CANCELLED
    metadata: dict[int, dict[str, object]] = {}
    listings: list[fan.ListingView] = []
    address = event.contract_address
    chain_error = None
    if chain is not None and address:
        try:
            client = fan.event_client(chain, event)
            tiers = fan.tier_views(client, event)
            cancelled = cancelled or client.cancelled()
            records = fan.read_events(chain, event)
            listings = fan.listings(client, records)
            base = fan.base_uri(chain, event, records)
            try:
                store = store_from_settings(settings)
            except TicketError:
                store = None
            for tier in tiers:
                meta = fan.tier_metadata(store, base, tier.index)
                if meta is not None:
                    metadata[tier.index] = meta
        except TicketError as exc:
            log.warning("event page %s: %s", event_id, exc)
            chain_error = "The chain cannot be reached right now; prices below may be out of date."
    now = int(datetime.now(UTC).timestamp())
    return render(
        request,
        "event.html",
        nav="event",
        event=event,
        address=address,
        tiers=tiers,
        metadata=metadata,
        listings=listings,
        cancelled=cancelled,
        chain_error=chain_error,
        now=now,
        currency=settings.currency,
    )


@router.get("/me", response_class=HTMLResponse)
def me_page(request: Request, session: SessionDep, event: int | None = None) -> HTMLResponse:
    events = list(
        session.scalars(
            select(Event)
            .where(Event.state.in_([EventState.ACTIVE, EventState.CANCELLED]))
            .where(Event.contract_address.is_not(None))
            .order_by(Event.starts_at, Event.id)
        )
    )
    chosen = next((e for e in events if e.id == event), events[0] if events else None)
    return render(
        request,
        "me.html",
        nav="me",
        events=events,
        chosen=chosen,
        chain_id=request.app.state.settings.chain_id,
    )
