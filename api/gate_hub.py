"""The gate hub, a part of the bridge: gate devices push and pull check-ins and refusal counts.

Gates sync their nullifiers through the bridge when they are online (``gate.sync`` on the
device); a nullifier used at two gates is kept twice and reported as a conflict. Devices
authenticate with the bridge's gate keys only (``X-API-Key``, or ``Authorization: Bearer fg_...``:
role gate, bound to one event and named for one gate, issued by
``POST /organizer/events/{id}/gate-keys`` or ``fairgate organizer gate-key``); an event's
organizer reads its conflicts, entries and refusals with the organizer key (:func:`hub_router`).
:func:`make_hub_router` takes the authentication as callables, so the hub's rules are also
tested on their own tables (``tests/gate/test_gate_hub_tables.py``). Paths:
``/gate/events/{address}/...``, next to the bridge's ``/gate/events/{id}/tickets``.

Endpoints (a gate device sends its bridge gate key; the gate id of its rows is the key's gate
name, never the body's)::

    POST /gate/events/{event}/checkins           a batch of this gate's check-ins (idempotent)
    GET  /gate/events/{event}/checkins?since=N   other gates' check-ins after cursor N
    GET  /gate/events/{event}/conflicts          nullifiers used at two or more gates
    GET  /gate/events/{event}/entries            each gate's nullifiers (also for the organizer)
    POST /gate/events/{event}/refusals           this device's refusal counters (idempotent)
    GET  /gate/events/{event}/refusals           refusals per gate, minute and reason

Why these rules:

* **Idempotent pushes**: a use is unique per ``(event, nullifier, gate_id, checked_at)`` (the
  device's own timestamp of the admission); a gate that lost the answer to a push sends the same
  batch again and nothing changes.
* **Conflicts are kept**: the same nullifier admitted twice is two rows, both flagged
  ``conflict``, whether at two gates or at two devices sharing one gate id (a second scanner
  configured with the same id, a restored backup): nothing is dropped, and both devices (through
  their pulls and ``/conflicts``) and the organizer see it.
* **Each device sees the others**: a row records the device that pushed it (a digest of its
  key, ``device``); a pull leaves out only the puller's own rows, so devices sharing a gate id
  still refuse each other's admissions.
* **Cursor without gaps**: pushes of one event are serialised by a row lock on
  ``gate_event_heads`` (the first statement of the push's transaction, an upsert: a lock on
  PostgreSQL and SQLite alike), so sequence numbers of one event become visible in increasing
  order and a reader's ``since`` never skips a row that commits later.
* **Refusals are counts**: a device sends, per minute bucket and reason code, how many codes
  it refused (never a nullifier); the counters are cumulative, so the hub keeps the larger of
  the stored and the sent value per ``(event, device, reason, minute)``: a retried or repeated
  push changes nothing and a later push only raises a bucket.
* **Organizer access**: ``make_hub_router(..., organizer_check=...)`` takes the bridge's own check
  (request, event) -> bool, so ``/conflicts`` is open to the organizer without this module
  knowing the bridge's auth.

Tables are SQLAlchemy Core on their own ``MetaData`` (:data:`metadata`), created by
:func:`create_hub_tables` or by the bridge's Alembic revisions 0002, 0009, 0010 and 0013 (frozen
copies in the revision files; ``tests/gate/test_gate_hub_tables.py`` compares them). 0013 dropped
the hub's own device keys (``gate_devices``, ``fgg_...``): one kind of gate key, the bridge's.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, get_args

from eth_utils.address import is_address
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    DateTime,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    and_,
    case,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from api.models import Event as EventRow
from api.models import Role
from api.security import KEY_PREFIX as BRIDGE_KEY_PREFIX
from api.services.auth import Principal, authenticate
from fairgate.errors import TicketError

__all__ = [
    "REFUSAL_CODES",
    "GateDevice",
    "create_hub_tables",
    "hub_router",
    "make_hub_router",
    "metadata",
]

log = logging.getLogger(__name__)

MAX_BATCH = 5_000
HEX32 = r"^0x[0-9a-f]{64}$"

metadata = MetaData()

gate_event_heads = Table(
    "gate_event_heads",
    metadata,
    Column("event", String(42), primary_key=True),
    Column("pushes", BigInteger, nullable=False),
)

gate_checkins = Table(
    "gate_checkins",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("event", String(42), nullable=False),
    Column("nullifier", String(66), nullable=False),
    Column("gate_id", String(64), nullable=False),
    Column("checked_at", Float, nullable=False),
    Column("root", String(66), nullable=False),
    Column("challenge", String(66), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("conflict", Boolean, nullable=False, default=False),
    Column("device", String(32), nullable=True),
    UniqueConstraint(
        "event", "nullifier", "gate_id", "checked_at", name="gate_checkins_one_use_per_device"
    ),
    Index("gate_checkins_event_seq", "event", "seq"),
)


gate_refusals = Table(
    "gate_refusals",
    metadata,
    Column("event", String(42), primary_key=True),
    Column("device", String(32), primary_key=True),
    Column("reason", String(32), primary_key=True),
    Column("minute", BigInteger, primary_key=True, autoincrement=False),
    Column("gate_id", String(64), nullable=False),
    Column("count", BigInteger, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Index("gate_refusals_event_minute", "event", "minute"),
)

# the gate checker's refusal codes (gate.checker.CheckResult.code, all but ``admitted``)
RefusalCode = Literal[
    "malformed",
    "wrong_event",
    "root_unknown",
    "root_expired",
    "root_superseded",
    "challenge_unknown",
    "challenge_expired",
    "code_expired",
    "code_ahead",
    "nullifier_used",
    "proof_invalid",
]
REFUSAL_CODES: tuple[str, ...] = get_args(RefusalCode)


def create_hub_tables(engine: Engine) -> None:
    """Create the hub's tables if missing (tests, embedded SQLite; production uses Alembic)."""
    metadata.create_all(engine)


# ---------------------------------------------------------------------------------------------
# gate devices


@dataclass(frozen=True)
class GateDevice:
    """An authenticated gate device: the gate it stands at (its rows' ``gate_id``) and who it
    is (``device``, a digest of its key: devices sharing a gate name are told apart)."""

    gate_id: str
    device: str


def device_digest(key: str) -> str:
    """The ``device`` of a key's rows: 32 hex characters of its SHA-256 (never the key)."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _event(address: str) -> str:
    if not is_address(address):
        raise HTTPException(422, "event is not an Ethereum address")
    return address.lower()


# ---------------------------------------------------------------------------------------------
# wire models


class CheckInIn(BaseModel):
    """One check-in as a gate pushes it (``gate_id`` is taken from the key, not the body)."""

    model_config = ConfigDict(extra="ignore")

    nullifier: str = Field(pattern=HEX32)
    checked_at: float = Field(ge=0)
    root: str = Field(pattern=HEX32)
    challenge: str = Field(pattern=HEX32)


class PushIn(BaseModel):
    checkins: list[CheckInIn] = Field(max_length=MAX_BATCH)


class PushOut(BaseModel):
    accepted: int  # new rows
    duplicates: int  # already pushed by this gate (a retried push)
    conflicts: list[str]  # nullifiers of this batch also used at another gate


class CheckInOut(BaseModel):
    seq: int
    nullifier: str
    gate_id: str
    checked_at: float
    root: str
    challenge: str
    conflict: bool


class PullOut(BaseModel):
    checkins: list[CheckInOut]
    cursor: int  # pass as ``since`` next time
    more: bool


class ConflictOut(BaseModel):
    nullifier: str
    entries: list[CheckInOut]


class ConflictsOut(BaseModel):
    conflicts: list[ConflictOut]


class RefusalIn(BaseModel):
    """A device's cumulative count of one reason in one minute (unix time // 60)."""

    model_config = ConfigDict(extra="forbid")

    reason: RefusalCode
    minute: int = Field(ge=0, le=2**40)
    count: int = Field(ge=0, le=2**40)


class RefusalsIn(BaseModel):
    refusals: list[RefusalIn] = Field(max_length=MAX_BATCH)


class RefusalsPushOut(BaseModel):
    stored: int  # buckets of the batch


class RefusalOut(BaseModel):
    gate_id: str
    minute: int
    reason: str
    count: int


class RefusalsOut(BaseModel):
    refusals: list[RefusalOut]


def _out(row: Any) -> CheckInOut:
    return CheckInOut(
        seq=row.seq,
        nullifier=row.nullifier,
        gate_id=row.gate_id,
        checked_at=row.checked_at,
        root=row.root,
        challenge=row.challenge,
        conflict=row.conflict,
    )


# ---------------------------------------------------------------------------------------------
# operations (usable without HTTP)


def _lock_event(conn: Connection, event: str) -> None:
    """Upsert the event's head row: its row lock serialises this event's pushes."""
    insert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert
    stmt = insert(gate_event_heads).values(event=event, pushes=1)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["event"], set_={"pushes": gate_event_heads.c.pushes + 1}
        )
    )


def push_checkins(
    conn: Connection,
    event: str,
    gate_id: str,
    checkins: Sequence[CheckInIn],
    *,
    device: str | None = None,
) -> PushOut:
    """Store a gate's batch in the caller's transaction; see the module doc for the rules."""
    _lock_event(conn, event)
    wanted: dict[str, CheckInIn] = {}
    for item in checkins:
        wanted.setdefault(item.nullifier, item)  # a batch naming a nullifier twice: first wins
    uses: dict[str, set[tuple[str, float]]] = {}
    for chunk in _chunks(list(wanted), 500):
        for row in conn.execute(
            select(
                gate_checkins.c.nullifier, gate_checkins.c.gate_id, gate_checkins.c.checked_at
            ).where(gate_checkins.c.event == event, gate_checkins.c.nullifier.in_(chunk))
        ):
            uses.setdefault(row.nullifier, set()).add((row.gate_id, float(row.checked_at)))
    now = datetime.now(UTC)
    new_rows: list[dict[str, Any]] = [
        {
            "event": event,
            "nullifier": n,
            "gate_id": gate_id,
            "checked_at": item.checked_at,
            "root": item.root,
            "challenge": item.challenge,
            "received_at": now,
            "conflict": bool(uses.get(n)),
            "device": device,
        }
        for n, item in wanted.items()
        # the same use pushed again is a duplicate; any other use (another gate, or another
        # device with this gate id: another time) is a conflict
        if (gate_id, float(item.checked_at)) not in uses.get(n, set())
    ]
    if new_rows:
        conn.execute(gate_checkins.insert(), new_rows)
    conflicted = sorted(str(r["nullifier"]) for r in new_rows if r["conflict"])
    for chunk in _chunks(conflicted, 500):
        conn.execute(
            update(gate_checkins)
            .where(gate_checkins.c.event == event, gate_checkins.c.nullifier.in_(chunk))
            .values(conflict=True)
        )
    if conflicted:
        log.warning(
            "event %s: %d nullifier(s) from %s also used elsewhere", event, len(conflicted), gate_id
        )
    return PushOut(
        accepted=len(new_rows), duplicates=len(wanted) - len(new_rows), conflicts=conflicted
    )


def pull_checkins(
    conn: Connection,
    event: str,
    gate_id: str | None,
    since: int,
    limit: int,
    *,
    device: str | None = None,
) -> PullOut:
    """Check-ins of ``event`` after ``since`` not pushed by the puller: by ``device`` when
    given (other devices with the same gate id are included), else by ``gate_id`` (None: all)."""
    # The head is read first: every row at or below it has committed (pushes of an event are
    # serialised), so rows are read up to it and a cursor at it skips nothing, even on
    # PostgreSQL's READ COMMITTED where each statement has its own snapshot.
    head = conn.execute(
        select(func.max(gate_checkins.c.seq)).where(gate_checkins.c.event == event)
    ).scalar()
    head = int(head or 0)
    query = select(gate_checkins).where(
        gate_checkins.c.event == event, gate_checkins.c.seq > since, gate_checkins.c.seq <= head
    )
    if device is not None:
        mine = gate_checkins.c.device == device
        if gate_id is not None:  # rows from before devices were recorded
            mine = or_(
                mine, and_(gate_checkins.c.device.is_(None), gate_checkins.c.gate_id == gate_id)
            )
        query = query.where(~mine)
    elif gate_id is not None:
        query = query.where(gate_checkins.c.gate_id != gate_id)
    rows = conn.execute(query.order_by(gate_checkins.c.seq).limit(limit + 1)).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = rows[-1].seq if more else max(since, head)
    return PullOut(checkins=[_out(r) for r in rows], cursor=cursor, more=more)


def list_conflicts(conn: Connection, event: str) -> ConflictsOut:
    """Every nullifier of ``event`` used at more than one gate, with all its uses."""
    rows = conn.execute(
        select(gate_checkins)
        .where(gate_checkins.c.event == event, gate_checkins.c.conflict.is_(True))
        .order_by(gate_checkins.c.nullifier, gate_checkins.c.checked_at)
    ).fetchall()
    grouped: dict[str, list[CheckInOut]] = {}
    for row in rows:
        grouped.setdefault(row.nullifier, []).append(_out(row))
    return ConflictsOut(conflicts=[ConflictOut(nullifier=n, entries=e) for n, e in grouped.items()])


class GateEntries(BaseModel):
    gate_id: str
    nullifiers: list[str]


class EntriesOut(BaseModel):
    gates: list[GateEntries]


def list_entries(conn: Connection, event: str) -> EntriesOut:
    """The nullifiers each gate pushed for ``event`` (counts only need them to tell anchored
    entries from the rest; a nullifier identifies no one)."""
    rows = conn.execute(
        select(gate_checkins.c.gate_id, gate_checkins.c.nullifier)
        .where(gate_checkins.c.event == event)
        .order_by(gate_checkins.c.gate_id, gate_checkins.c.seq)
    ).all()
    by_gate: dict[str, list[str]] = {}
    for gate_id, nullifier in rows:
        by_gate.setdefault(str(gate_id), []).append(str(nullifier))
    return EntriesOut(gates=[GateEntries(gate_id=g, nullifiers=n) for g, n in by_gate.items()])


def push_refusals(
    conn: Connection, event: str, gate_id: str, device: str, items: Sequence[RefusalIn]
) -> RefusalsPushOut:
    """Store a device's cumulative refusal counters: per bucket the larger count wins."""
    wanted: dict[tuple[str, int], int] = {}
    for item in items:
        key = (item.reason, item.minute)
        wanted[key] = max(wanted.get(key, 0), item.count)
    if not wanted:
        return RefusalsPushOut(stored=0)
    insert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert
    now = datetime.now(UTC)
    stmt = insert(gate_refusals).values(
        [
            {
                "event": event,
                "device": device,
                "reason": reason,
                "minute": minute,
                "gate_id": gate_id,
                "count": count,
                "received_at": now,
            }
            for (reason, minute), count in sorted(wanted.items())
        ]
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["event", "device", "reason", "minute"],
            set_={
                "count": case(
                    (gate_refusals.c.count < stmt.excluded.count, stmt.excluded.count),
                    else_=gate_refusals.c.count,
                ),
                "received_at": now,
            },
        )
    )
    return RefusalsPushOut(stored=len(wanted))


def refusal_counts(conn: Connection, event: str) -> RefusalsOut:
    """Refusals of ``event`` per gate, minute and reason (devices of one gate summed)."""
    total = func.sum(gate_refusals.c.count)
    rows = conn.execute(
        select(gate_refusals.c.gate_id, gate_refusals.c.minute, gate_refusals.c.reason, total)
        .where(gate_refusals.c.event == event)
        .group_by(gate_refusals.c.gate_id, gate_refusals.c.minute, gate_refusals.c.reason)
        .order_by(gate_refusals.c.minute, gate_refusals.c.gate_id, gate_refusals.c.reason)
    ).all()
    return RefusalsOut(
        refusals=[
            RefusalOut(gate_id=str(g), minute=int(m), reason=str(r), count=int(c))
            for g, m, r, c in rows
        ]
    )


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


# ---------------------------------------------------------------------------------------------
# router

OrganizerCheck = Callable[[Request, str], bool]
GateAuth = Callable[[Request, str], GateDevice | None]


def _event_param(
    event: Annotated[str, Path(min_length=42, max_length=42, description="event address")],
) -> str:
    return _event(event)


# module level: with postponed annotations FastAPI resolves these names in the module
Event = Annotated[str, Depends(_event_param)]
_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="GateKey",
    description="A bridge gate key, fg_<key id>_<secret> (POST /organizer/events/{id}/gate-keys); "
    "X-API-Key works too",
)
# declared on each endpoint so the OpenAPI document names the scheme; gate_auth reads the key
GateKey = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def make_hub_router(
    engine: Engine | Callable[[], Engine],
    *,
    gate_auth: GateAuth,
    organizer_check: OrganizerCheck | None = None,
    prefix: str = "/gate",
) -> APIRouter:
    """The hub's router. ``engine`` may be a callable (the bridge builds its engine lazily).

    ``gate_auth(request, event)`` authenticates a gate device of ``event`` (the bridge: a gate
    key of that event, :func:`hub_router`): its :class:`GateDevice`, or None (401).
    ``organizer_check(request, event)`` returns True when the request is the event's organizer
    (the bridge's own auth); then ``/conflicts``, ``/entries`` and ``/refusals`` answer without
    a gate key. Endpoints are plain functions: FastAPI runs them in its thread pool, the
    database calls block.
    """
    router = APIRouter(prefix=prefix, tags=["gate hub"])

    def get_engine() -> Engine:
        return engine() if callable(engine) and not isinstance(engine, Engine) else engine

    def gate_device(event: str, request: Request) -> GateDevice:
        device = gate_auth(request, event)
        if device is None:
            raise HTTPException(401, "unknown or revoked gate key, or a key of another event")
        return device

    @router.post("/events/{event}/checkins", response_model=PushOut)
    def push(event: Event, body: PushIn, key: GateKey, request: Request) -> PushOut:
        device = gate_device(event, request)
        with get_engine().begin() as conn:
            return push_checkins(conn, event, device.gate_id, body.checkins, device=device.device)

    @router.get("/events/{event}/checkins", response_model=PullOut)
    def pull(
        event: Event,
        key: GateKey,
        request: Request,
        since: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_BATCH)] = 500,
    ) -> PullOut:
        device = gate_device(event, request)
        with get_engine().connect() as conn:
            return pull_checkins(conn, event, device.gate_id, since, limit, device=device.device)

    @router.get("/events/{event}/entries", response_model=EntriesOut)
    def entries(event: Event, key: GateKey, request: Request) -> EntriesOut:
        """Every gate's check-ins of the event, counted per gate: what the hub knows before
        anything is anchored on-chain (the organizer's sales view)."""
        if organizer_check is None or not organizer_check(request, event):
            gate_device(event, request)
        with get_engine().connect() as conn:
            return list_entries(conn, event)

    @router.post("/events/{event}/refusals", response_model=RefusalsPushOut)
    def push_refused(
        event: Event, body: RefusalsIn, key: GateKey, request: Request
    ) -> RefusalsPushOut:
        """This device's refusal counters (cumulative per reason and minute; counts only)."""
        device = gate_device(event, request)
        with get_engine().begin() as conn:
            return push_refusals(conn, event, device.gate_id, device.device, body.refusals)

    @router.get("/events/{event}/refusals", response_model=RefusalsOut)
    def refusals(event: Event, key: GateKey, request: Request) -> RefusalsOut:
        if organizer_check is None or not organizer_check(request, event):
            gate_device(event, request)
        with get_engine().connect() as conn:
            return refusal_counts(conn, event)

    @router.get("/events/{event}/conflicts", response_model=ConflictsOut)
    def conflicts(event: Event, key: GateKey, request: Request) -> ConflictsOut:
        if organizer_check is None or not organizer_check(request, event):
            gate_device(event, request)
        with get_engine().connect() as conn:
            return list_conflicts(conn, event)

    return router


# ---------------------------------------------------------------------------------------------
# the bridge's authentication


def _principal_for(request: Request, address: str, role: Role) -> tuple[Principal, EventRow] | None:
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
            event = session.get(EventRow, principal.event_id) if principal.event_id else None
        else:
            event = (
                session.query(EventRow)
                .filter(EventRow.organizer_id == principal.organizer_id)
                .filter(EventRow.contract_address.ilike(address))
                .first()
            )
        if event is None or (event.contract_address or "").lower() != address.lower():
            return None
        return principal, event


def _request_key(request: Request) -> str | None:
    """The bridge key of a request: ``X-API-Key``, or ``Authorization: Bearer fg_...``.

    A gate device sends its key as a bearer token (``gate.sync.HubClient``): the bridge's gate
    key (``fg_...``, ``fairgate organizer gate-key``).
    """
    key = request.headers.get("x-api-key")
    if key:
        return key
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token.startswith(f"{BRIDGE_KEY_PREFIX}_"):
        return token
    return None


def _gate_auth(request: Request, address: str) -> GateDevice | None:
    """A gate key of the event at ``address``: the gate its key is named for, and the key's
    digest as the device (the same digest whichever header carried the key)."""
    found = _principal_for(request, address, Role.GATE)
    key = _request_key(request)
    if found is None or key is None:
        return None
    principal = found[0]
    return GateDevice(
        gate_id=principal.gate_name or f"gate-{principal.key_id}", device=device_digest(key)
    )


def _organizer_check(request: Request, address: str) -> bool:
    return _principal_for(request, address, Role.ORGANIZER) is not None


def hub_router(app: FastAPI) -> APIRouter:
    """The hub's router over the bridge's database and keys."""
    return make_hub_router(app.state.engine, organizer_check=_organizer_check, gate_auth=_gate_auth)
