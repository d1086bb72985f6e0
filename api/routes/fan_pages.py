"""The fan pages (server-rendered, Jinja2): ``/event/{id}`` and ``/me``.

The event page is complete without JavaScript (tiers, prices, remaining seats, resale cap and
royalty, resale window, cancellation, the tier's metadata and image from IPFS through the
gateway); the wallet script (``/assets/js/fan.js``) adds buying with ETH to it. ``/me`` is the
wallet page: connect (EIP-6963), my tickets, the market actions and "Show at the gate".
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import SessionDep
from api.errors import QueueRefused, SoldOut
from api.metrics import RESERVATION_FAILURES
from api.models import Event, EventState, Tier
from api.pages import TEMPLATES, render
from api.routes.queue import Admission, queue_token
from api.schemas import OrderCreate
from api.services import fan, orders
from chain.types import ETH, Currency
from fairgate.errors import NotFound, TicketError
from metadata.store import store_from_settings
from zk.identity import TicketSecret

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)
EventId = Path(ge=1, le=2**31 - 1)
#: The same test as `fairgate fan buy-card` (cli/fan_card.py): name@host.tld, no spaces.
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def eth(wei: int | str) -> str:
    """Wei as ETH in plain decimals (no float rounding, no trailing zeros)."""
    return ETH.format(int(wei))


def money(units: int | str, currency: Currency) -> str:
    """An on-chain amount in its event's currency: ``"0.001 ETH"``, ``"12.5 FUSD"``."""
    return currency.format(int(units))


def bps(value: int) -> str:
    """Basis points as a percentage (11000 -> 110%)."""
    return format((Decimal(value) / 100).normalize(), "f") + "%"


def when(unix: int) -> str:
    return datetime.fromtimestamp(int(unix), UTC).strftime("%d %b %Y, %H:%M UTC")


TEMPLATES.env.filters.setdefault("eth", eth)
TEMPLATES.env.filters.setdefault("money", money)
TEMPLATES.env.filters.setdefault("bps", bps)
TEMPLATES.env.filters.setdefault("when", when)


def _event_context(request: Request, session: Session, event_id: int) -> dict[str, Any]:
    """What the event page shows (the chain's tiers, metadata, resale listings)."""
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
    return {
        "nav": "event",
        "event": event,
        "address": address,
        "tiers": tiers,
        "metadata": metadata,
        "listings": listings,
        "cancelled": cancelled,
        "chain_error": chain_error,
        "now": now,
        "currency": settings.currency,
        "settlement": event.settlement,
        "max_per_order": settings.max_tickets_per_order,
        "card": {},
        **_queue_context(request, event_id),
    }


def _queue_context(request: Request, event_id: int) -> dict[str, bool]:
    """Whether the event's waiting room is open, and whether this browser holds a token (its
    admission is checked when it orders): a quick synchronous look in Redis, nothing if off."""
    room = request.app.state.waiting_room
    client = room.shared.sync_client() if room is not None else None
    if client is None:
        return {"queue_open": False, "queue_joined": False}
    try:
        is_open = bool(client.exists(room.shared.key("wr", event_id, "cfg")))
    except RedisError as exc:
        room.shared.failed(exc)
        return {"queue_open": False, "queue_joined": False}
    return {
        "queue_open": is_open,
        "queue_joined": is_open and bool(queue_token(request, event_id)),
    }


@router.get("/event/{event_id}", response_class=HTMLResponse)
def event_page(request: Request, session: SessionDep, event_id: int = EventId) -> HTMLResponse:
    return render(request, "event.html", **_event_context(request, session, event_id))


def _card_error(
    tier: Tier | None, quantity: int | None, email: str, limit: int
) -> tuple[str, str] | None:
    """The form's first problem as (field, plain words), or None when the order can go."""
    if tier is None:
        return "tier", "This tier is not sold by card."
    if not EMAIL.match(email) or len(email) > 320:
        return (
            "email",
            f"{email or 'An empty address'!r} is not an e-mail address (name@example.org).",
        )
    if quantity is None or quantity < 1:
        return "quantity", "Choose how many tickets: a whole number, at least 1."
    if quantity > limit:
        return "quantity", f"At most {limit} tickets per order."
    if tier.remaining == 0:
        return "quantity", f"{tier.name} is sold out."
    if quantity > tier.remaining:
        left = tier.remaining
        return "quantity", f"Only {left} {tier.name} ticket{'s' if left != 1 else ''} left."
    return None


@router.post("/event/{event_id}/card", response_class=HTMLResponse)
async def buy_by_card(request: Request, event_id: int = EventId) -> HTMLResponse:
    """The card purchase of a fan without a wallet (a plain form, no JavaScript): the bridge's
    order in custody, then the checkout. The tickets are minted to placeholder commitments whose
    secrets nobody keeps: a ticket's key must be made on the fan's own device, so the fan claims
    the order into a wallet on ``/me`` (order number and token), which gives each ticket its own
    key (``rotateCommitment``) before the gate."""
    state = request.app.state
    form = await request.form()
    email = str(form.get("email") or "").strip()[:400]
    raw_qty = str(form.get("quantity") or "").strip()[:12]
    raw_tier = str(form.get("tier") or "").strip()[:12]
    quantity = int(raw_qty) if raw_qty.isdigit() else None
    with state.sessions() as session:
        tier = None
        if raw_tier.isdigit():
            tier = session.scalar(
                select(Tier).where(Tier.event_id == event_id, Tier.tier_index == int(raw_tier))
            )
        problem = _card_error(tier, quantity, email, state.settings.max_tickets_per_order)
        if problem is None and tier is not None and quantity is not None:
            # placeholders until the fan's wallet claims the tickets and keys them itself
            placeholders = [TicketSecret.generate().commitment() for _ in range(quantity)]
            body = OrderCreate(
                event_id=event_id,
                tier_id=tier.id,
                quantity=quantity,
                email=email,
                wallet="custody",
                commitments=[f"{c:#x}" for c in placeholders],
            )
            admission = Admission(request, event_id)
            try:
                await state.order_limiter.take(request.client.host if request.client else "unknown")
                await admission.take()  # while the event's waiting room is open
                created = await orders.create_order_async(
                    state.sessions, state.provider, state.settings, body
                )
            except QueueRefused as exc:
                RESERVATION_FAILURES.labels(exc.code).inc()
                problem = ("quantity", f"{exc}. The waiting room: /event/{event_id}/queue")
            except SoldOut:
                RESERVATION_FAILURES.labels(SoldOut.code).inc()
                await admission.give_back()
                session.refresh(tier)
                problem = _card_error(tier, quantity, email, state.settings.max_tickets_per_order)
                problem = problem or ("quantity", "Not enough seats are left for this order.")
            except TicketError as exc:
                RESERVATION_FAILURES.labels(exc.code).inc()
                await admission.give_back()
                problem = ("quantity", f"The order was refused: {exc}")
            else:
                page = render(
                    request,
                    "card_order.html",
                    event=session.get(Event, event_id),
                    tier=tier,
                    created=created,
                    currency=state.settings.currency,
                )
                page.headers["Cache-Control"] = "no-store"  # the order token stays out of caches
                return page
        context = _event_context(request, session, event_id)
    field, message = problem or ("quantity", "The order could not be made; try again.")
    context["card"] = {
        "tier": raw_tier,
        "email": email,
        "quantity": raw_qty,
        "field": field,
        "error": message,
    }
    return render(request, "event.html", status_code=422, **context)


@router.get("/me", response_class=HTMLResponse)
def me_page(
    request: Request,
    session: SessionDep,
    event: int | None = None,
    order: str | None = None,
) -> HTMLResponse:
    """The wallet page; ``order`` (the link in a ticket e-mail) fills in the order to claim or,
    on a cancelled event, whose refund to show. The claim token of that link comes after ``#``
    and never reaches the server: the page's script fills it in."""
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
        cancelled=chosen is not None
        and (chosen.state == EventState.CANCELLED or chosen.chain_cancelled),
        order_id=order if order and re.fullmatch(r"[0-9a-f]{32}", order) else "",
        chain_id=request.app.state.settings.chain_id,
    )
