"""The gate hub (:mod:`gate.hub`) mounted in the bridge: gate devices push and pull check-ins.

Gates sync their nullifiers through the bridge when they are online (``gate.sync``); a nullifier
used at two gates is kept twice and reported as a conflict. Devices authenticate with the
bridge's own gate keys (``X-API-Key`` with role gate for one event, issued by ``POST
/organizer/events/{id}/gate-keys``) or with the hub's bearer keys; an event's organizer reads its
conflicts with the organizer key. Paths: ``/gate/events/{address}/checkins`` and
``.../conflicts``, next to the bridge's ``/gate/events/{id}/tickets``.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request

from api.models import Event, Role
from api.security import KEY_PREFIX
from api.services.auth import Principal, authenticate
from fairgate.errors import TicketError
from gate.hub import make_hub_router


def _principal_for(request: Request, address: str, role: Role) -> tuple[Principal, Event] | None:
    """The bridge principal of the request's X-API-Key, if it has ``role`` on event ``address``."""
    key = _request_key(request)
    if not key:
        return None
    with request.app.state.sessions() as session:
        try:
            principal = authenticate(session, request.app.state.settings, key)
        except TicketError:
            return None
        if principal.role != role:
            return None
        if role == Role.GATE:
            event = session.get(Event, principal.event_id) if principal.event_id else None
        else:
            event = (
                session.query(Event)
                .filter(Event.organizer_id == principal.organizer_id)
                .filter(Event.contract_address.ilike(address))
                .first()
            )
        if event is None or (event.contract_address or "").lower() != address.lower():
            return None
        return principal, event


def _request_key(request: Request) -> str | None:
    """The bridge key of a request: ``X-API-Key``, or ``Authorization: Bearer fg_...``.

    A gate device sends its key as a bearer token (``gate.sync.HubClient``), whether the key came
    from the hub (``fgg_...``) or from the bridge (``fg_...``, ``fairgate organizer gate-key``): a
    bridge key in that header is the bridge's to check, not a 401.
    """
    key = request.headers.get("x-api-key")
    if key:
        return key
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token.startswith(f"{KEY_PREFIX}_"):
        return token
    return None


def _gate_auth(request: Request, address: str) -> str | None:
    found = _principal_for(request, address, Role.GATE)
    return f"gate-{found[0].key_id}" if found else None


def _organizer_check(request: Request, address: str) -> bool:
    return _principal_for(request, address, Role.ORGANIZER) is not None


def hub_router(app: FastAPI) -> APIRouter:
    """The hub's router over the bridge's database and keys."""
    return make_hub_router(app.state.engine, organizer_check=_organizer_check, gate_auth=_gate_auth)
