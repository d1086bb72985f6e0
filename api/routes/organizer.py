"""Organizer endpoints (X-API-Key with role organizer): only their own events are visible."""

from __future__ import annotations

from fastapi import APIRouter, Path, Query
from sqlalchemy import select

from api.deps import ChainDep, ClientDep, PrincipalDep, SessionDep, SettingsDep
from api.models import Event, Order, OrderState, Role
from api.routes import errors
from api.schemas import (
    EventCreate,
    EventOut,
    GateKeyCreate,
    GateKeyCreated,
    OrderSummary,
    SalesOut,
)
from api.services import audit, auth, catalog, refunds

router = APIRouter(prefix="/organizer", tags=["organizer"])
EventId = Path(ge=1, le=2**31 - 1)


@router.post(
    "/events", status_code=201, response_model=EventOut, responses=errors(401, 403, 422, 502, 503)
)
def create_event(
    body: EventCreate,
    session: SessionDep,
    principal: PrincipalDep,
    chain: ChainDep,
    settings: SettingsDep,
    client: ClientDep,
) -> EventOut:
    auth.require_role(principal, Role.ORGANIZER)
    assert principal.organizer_id is not None
    event = catalog.create_event(session, chain, principal.organizer_id, body)
    out = catalog.event_out(event, settings.currency)
    audit.record(
        session,
        actor=audit.actor_of(principal),
        organizer_id=principal.organizer_id,
        client=client,
        action="event_create",
        target=f"event {event.id}",
        after=out.model_dump(mode="json"),
    )
    session.commit()
    return out


@router.get("/events", response_model=list[EventOut], responses=errors(401, 403))
def my_events(
    session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> list[EventOut]:
    auth.require_role(principal, Role.ORGANIZER)
    events = session.scalars(
        select(Event).where(Event.organizer_id == principal.organizer_id).order_by(Event.id)
    )
    return [catalog.event_out(e, settings.currency) for e in events]


@router.get(
    "/events/{event_id}/orders", response_model=list[OrderSummary], responses=errors(401, 403, 404)
)
def event_orders(
    session: SessionDep,
    principal: PrincipalDep,
    event_id: int = EventId,
    limit: int = Query(default=100, ge=1, le=1000),
    offset: int = Query(default=0, ge=0, le=10**9),
) -> list[OrderSummary]:
    event = auth.event_of_organizer(session, principal, event_id)
    rows = session.scalars(
        select(Order)
        .where(Order.event_id == event.id)
        .order_by(Order.created_at, Order.id)
        .limit(limit)
        .offset(offset)
    )
    return [
        OrderSummary(
            id=o.id,
            tier_id=o.tier_id,
            quantity=o.quantity,
            state=OrderState(o.state),
            amount_cents=o.amount_cents,
            created_at=o.created_at,
        )
        for o in rows
    ]


@router.get("/events/{event_id}/sales", response_model=SalesOut, responses=errors(401, 403, 404))
def event_sales(
    session: SessionDep, principal: PrincipalDep, settings: SettingsDep, event_id: int = EventId
) -> SalesOut:
    event = auth.event_of_organizer(session, principal, event_id)
    return catalog.sales(session, event, settings)


@router.post(
    "/events/{event_id}/cancel", response_model=EventOut, responses=errors(401, 403, 404, 502, 503)
)
def cancel_event(
    session: SessionDep,
    principal: PrincipalDep,
    chain: ChainDep,
    settings: SettingsDep,
    client: ClientDep,
    event_id: int = EventId,
) -> EventOut:
    event = auth.event_of_organizer(session, principal, event_id)
    before = {"state": event.state}
    event = refunds.cancel_event(session, chain, event)
    session.refresh(event)
    audit.record(
        session,
        actor=audit.actor_of(principal),
        organizer_id=event.organizer_id,
        client=client,
        action="event_cancel",
        target=f"event {event.id}",
        before=before,
        after={"state": event.state},
    )
    session.commit()
    return catalog.event_out(event, settings.currency)


@router.post(
    "/events/{event_id}/gate-keys",
    status_code=201,
    response_model=GateKeyCreated,
    responses=errors(401, 403, 404, 422),
)
def create_gate_key(
    session: SessionDep,
    principal: PrincipalDep,
    client: ClientDep,
    body: GateKeyCreate | None = None,
    event_id: int = EventId,
) -> GateKeyCreated:
    """A gate device's key for this event, named for its gate (``gate_name``)."""
    event = auth.event_of_organizer(session, principal, event_id)
    gate_name = body.gate_name if body is not None else None
    key = auth.issue_key(
        session,
        Role.GATE,
        event_id=event.id,
        organizer_id=event.organizer_id,
        label=f"gate {gate_name} of event {event.id}" if gate_name else f"gate of event {event.id}",
        gate_name=gate_name,
    )
    key_id = key.split("_")[1]
    audit.record(
        session,
        actor=audit.actor_of(principal),
        organizer_id=event.organizer_id,
        client=client,
        action="gate_key_create",
        target=f"event {event.id}",
        after={"key_id": key_id, "gate_name": gate_name or f"gate-{key_id}"},
    )
    session.commit()
    return GateKeyCreated(event_id=event.id, api_key=key, gate_name=gate_name or f"gate-{key_id}")
