"""Public catalog: events on sale, their tiers, prices and remaining seats.

Both reads go through the replicas' shared cache (api.catalog_cache): a hit is the stored JSON
body as it is, a miss renders and stores it."""

from __future__ import annotations

from fastapi import APIRouter, Path, Request, Response
from pydantic import TypeAdapter

from api.deps import SessionDep, SettingsDep
from api.models import Event, EventState
from api.routes import errors
from api.schemas import EventOut
from api.services import catalog
from fairgate.errors import NotFound

router = APIRouter(prefix="/events", tags=["catalog"])
EventId = Path(ge=1, le=2**31 - 1)
_EVENTS = TypeAdapter(list[EventOut])


def _json(body: bytes) -> Response:
    return Response(body, media_type="application/json")


@router.get("", response_model=list[EventOut])
def list_events(session: SessionDep, settings: SettingsDep, request: Request) -> Response:
    cache = request.app.state.catalog_cache
    body = cache.get("events")
    if body is None:
        events = [catalog.event_out(e, settings.currency) for e in catalog.public_events(session)]
        body = _EVENTS.dump_json(events)
        cache.put("events", body)
    return _json(body)


@router.get("/{event_id}", response_model=EventOut, responses=errors(404))
def get_event(
    session: SessionDep, settings: SettingsDep, request: Request, event_id: int = EventId
) -> Response:
    cache = request.app.state.catalog_cache
    body = cache.get(f"event:{event_id}")
    if body is None:
        event = session.get(Event, event_id)
        if event is None or event.state not in (EventState.ACTIVE, EventState.CANCELLED):
            raise NotFound("no such event")
        body = catalog.event_out(event, settings.currency).model_dump_json().encode()
        cache.put(f"event:{event_id}", body)
    return _json(body)
