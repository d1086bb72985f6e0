"""The audit log: every organizer and admin action, appended, never changed.

:func:`record` adds one row (who, when, from where, what, the before and after) in the caller's
transaction, so an action and its log line commit together or not at all. Rows are never updated
or deleted: the database refuses it (triggers of migration 0005). :func:`rows` and :func:`csv_of`
read them for the dashboard and its export.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import AuditEntry, utcnow
from api.services.auth import Principal

CSV_COLUMNS = ("id", "at", "actor", "client", "action", "target", "before", "after")


def actor_of(principal: Principal) -> str:
    if principal.key_id is not None:
        return f"key {principal.key_id}"
    return str(principal.role)


def record(
    session: Session,
    *,
    actor: str,
    organizer_id: int | None,
    client: str,
    action: str,
    target: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        at=utcnow(),
        actor=actor[:120],
        organizer_id=organizer_id,
        client=client[:64],
        action=action,
        target=target[:200],
        before=_jsonable(before),
        after=_jsonable(after),
    )
    session.add(entry)
    return entry


def _jsonable(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    loaded: dict[str, Any] = json.loads(json.dumps(value, default=str))
    return loaded


def rows(session: Session, organizer_id: int, limit: int = 500) -> Sequence[AuditEntry]:
    """An organizer's entries, newest first."""
    return session.scalars(
        select(AuditEntry)
        .where(AuditEntry.organizer_id == organizer_id)
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    ).all()


def csv_table(header: Sequence[str], body: Sequence[Sequence[Any]]) -> str:
    """CSV text; a cell that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``
    first) is quoted with a leading apostrophe (CSV injection)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for line in body:
        writer.writerow([_safe_cell(v) for v in line])
    return out.getvalue()


def _safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_of(entries: Sequence[AuditEntry]) -> str:
    return csv_table(
        CSV_COLUMNS,
        [
            [
                e.id,
                e.at.isoformat(),
                e.actor,
                e.client,
                e.action,
                e.target,
                json.dumps(e.before, sort_keys=True) if e.before is not None else "",
                json.dumps(e.after, sort_keys=True) if e.after is not None else "",
            ]
            for e in entries
        ],
    )
