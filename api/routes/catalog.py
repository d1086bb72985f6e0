"""Public catalog: events on sale, their tiers, prices and remaining seats."""

from __future__ import annotations

from fastapi import APIRouter, Path

from api.deps import SessionDep, SettingsDep
from api.models import Event, EventState
from api.routes import errors
from api.schemas import EventOut
from api.services import catalog
from fairgate.errors import NotFound

router = APIRouter(prefix="/events", tags=["catalog"])
EventId = Path(ge=1, le=2**31 - 1)


@router.get("", response_model=list[EventOut])
def list_events(session: SessionDep, settings: SettingsDep) -> list[EventOut]:
    return [catalog.event_out(e, settings.currency) for e in catalog.public_events(session)]


@router.get("/{event_id}", response_model=EventOut, responses=errors(404))
def get_event(session: SessionDep, settings: SettingsDep, event_id: int = EventId) -> EventOut:
    event = session.get(Event, event_id)
    if event is None or event.state not in (EventState.ACTIVE, EventState.CANCELLED):
        raise NotFound("no such event")
    return catalog.event_out(event, settings.currency)
