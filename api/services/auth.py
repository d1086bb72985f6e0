"""API keys: organizers, gate devices, and the platform admin who creates organizers.

A key authenticates a :class:`Principal`; what it may touch is decided per resource
(:func:`require_organizer_of`, :func:`require_gate_of`), never by role alone, so an organizer of
one event sees nothing of another.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.errors import Forbidden, InvalidRequest, Unauthorized
from api.models import ApiKey, Event, Organizer, Role, utcnow
from api.security import new_api_key, same_hash, split_api_key
from fairgate.errors import NotFound
from fairgate.settings import Settings


@dataclass(frozen=True)
class Principal:
    role: Role
    organizer_id: int | None = None
    event_id: int | None = None
    key_id: str | None = None
    gate_name: str | None = None  # a gate key's gate (the hub's gate id of its check-ins)


#: A gate's name, as a gate device's ``FAIRGATE_GATE_ID``: 1-64 letters, digits, '_', '.', '-'.
GATE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def authenticate(session: Session, settings: Settings, key: str | None) -> Principal:
    if not key:
        raise Unauthorized("an API key is required (X-API-Key)")
    admin = settings.admin_api_key
    if admin is not None and hmac.compare_digest(key.encode(), admin.get_secret_value().encode()):
        return Principal(Role.ADMIN)
    parts = split_api_key(key)
    if parts is None:
        raise Unauthorized("invalid API key")
    key_id, secret = parts
    row = session.scalar(select(ApiKey).where(ApiKey.key_id == key_id))
    if row is None or row.revoked_at is not None or not same_hash(secret, row.secret_hash):
        raise Unauthorized("invalid API key")
    return Principal(Role(row.role), row.organizer_id, row.event_id, row.key_id, row.gate_name)


def require_role(principal: Principal, *roles: Role) -> None:
    if principal.role not in roles:
        raise Forbidden(f"this needs a key with role {' or '.join(roles)}")


def event_of_organizer(session: Session, principal: Principal, event_id: int) -> Event:
    """The event if ``principal`` organizes it. Another organizer's event is 404, not 403, so
    keys cannot probe which events exist."""
    require_role(principal, Role.ORGANIZER)
    event = session.get(Event, event_id)
    if event is None or event.organizer_id != principal.organizer_id:
        raise NotFound("no such event")
    return event


def event_of_gate(session: Session, principal: Principal, event_id: int) -> Event:
    require_role(principal, Role.GATE, Role.ORGANIZER)
    event = session.get(Event, event_id)
    allowed = event is not None and (
        (principal.role is Role.GATE and principal.event_id == event_id)
        or (principal.role is Role.ORGANIZER and event.organizer_id == principal.organizer_id)
    )
    if event is None or not allowed:
        raise NotFound("no such event")
    return event


def create_organizer(
    session: Session, name: str, payout_address: str | None
) -> tuple[Organizer, str]:
    organizer = Organizer(name=name, payout_address=payout_address)
    session.add(organizer)
    session.flush()
    key = issue_key(session, Role.ORGANIZER, organizer_id=organizer.id, label=f"organizer {name}")
    return organizer, key


def issue_key(
    session: Session,
    role: Role,
    *,
    organizer_id: int | None = None,
    event_id: int | None = None,
    label: str = "",
    gate_name: str | None = None,
) -> str:
    """A new key, shown once (only its hash is kept). A gate key is named for its gate
    (``gate_name``; default ``gate-<key id>``, a gate of its own)."""
    if gate_name is not None and (role is not Role.GATE or not GATE_NAME.fullmatch(gate_name)):
        raise InvalidRequest("a gate name is 1-64 letters, digits, '_', '.' or '-'")
    full, key_id, secret_hash = new_api_key()
    session.add(
        ApiKey(
            key_id=key_id,
            secret_hash=secret_hash,
            role=role,
            organizer_id=organizer_id,
            event_id=event_id,
            label=label,
            gate_name=(gate_name or f"gate-{key_id}") if role is Role.GATE else None,
            created_at=utcnow(),
        )
    )
    return full
