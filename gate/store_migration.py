"""Converting a gate store of the first format (hex text rows) to schema version 2.

The first format (``PRAGMA user_version`` 0) kept every 256-bit value as ``0x`` hex text and the
event address on every row, with two partial indexes over the push and anchor backlogs (about
430 bytes per nullifier). :class:`gate.store.NullifierStore` renames its three tables to
``legacy_*`` and calls :func:`migrate_legacy` inside the same transaction that creates the new
schema, so a crash leaves either the old file or the new one, never half of each. Every row
keeps its values and its bookkeeping: source, pushed, anchored and anchor transaction; the
backlogs become queue entries in the old order (``checked_at``).

:data:`LEGACY_SCHEMA` is the first format's DDL, kept so that tests can write such a file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

__all__ = ["LEGACY_SCHEMA", "is_legacy", "migrate_legacy"]

LEGACY_SCHEMA = """
CREATE TABLE IF NOT EXISTS checkins (
    event TEXT NOT NULL,
    nullifier TEXT NOT NULL,
    gate_id TEXT NOT NULL,
    checked_at REAL NOT NULL,
    root TEXT NOT NULL,
    challenge TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('local', 'hub')),
    pushed INTEGER NOT NULL DEFAULT 0,
    anchored INTEGER NOT NULL DEFAULT 0,
    anchor_tx TEXT,
    PRIMARY KEY (event, nullifier)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS checkins_backlog ON checkins (event, pushed) WHERE pushed = 0;
CREATE INDEX IF NOT EXISTS checkins_unanchored ON checkins (event, anchored) WHERE anchored = 0;
CREATE TABLE IF NOT EXISTS other_uses (
    event TEXT NOT NULL,
    nullifier TEXT NOT NULL,
    gate_id TEXT NOT NULL,
    checked_at REAL NOT NULL,
    root TEXT NOT NULL,
    challenge TEXT NOT NULL,
    PRIMARY KEY (event, nullifier, gate_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS state (
    event TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (event, key)
) WITHOUT ROWID;
"""

_ROWS_PER_ROUND = 10_000


def is_legacy(db: sqlite3.Connection) -> bool:
    """Whether the file holds the first format (a ``checkins`` table with a ``gate_id`` column)."""
    columns = {str(row[1]) for row in db.execute("PRAGMA table_info(checkins)")}
    return "gate_id" in columns


def _blob(text: str) -> bytes:
    if not isinstance(text, str) or len(text) != 66 or not text.startswith("0x"):
        raise ValueError(f"legacy gate store: {text!r} is not 0x and 64 hex digits")
    return bytes.fromhex(text[2:])


def migrate_legacy(db: sqlite3.Connection, intern: Callable[[str, Any], int]) -> None:
    """Copy ``legacy_*`` tables into the new schema and drop them (inside the caller's
    transaction). ``intern(table, value)`` gives the id of a repeated value."""
    from gate.store import ANCHORED, HUB, PUSHED

    def gate(name: str) -> int:
        return intern("gate_ids", name)

    def root(value: str) -> int:
        return intern("root_ids", _blob(value))

    def challenge(value: str) -> int:
        return intern("challenge_ids", _blob(value))

    rows = db.execute(
        "SELECT event, nullifier, gate_id, checked_at, root, challenge, source, pushed, "
        "anchored, anchor_tx FROM legacy_checkins ORDER BY checked_at, event, nullifier"
    )
    while batch := rows.fetchmany(_ROWS_PER_ROUND):
        out, pushes, anchors = [], [], []
        for event, nullifier, gate_id, at, root_, challenge_, source, pushed, anchored, tx in batch:
            event_id = intern("event_ids", str(event).lower())
            key = _blob(nullifier)
            flags = (HUB if source == "hub" else 0) | (PUSHED if pushed else 0)
            flags |= ANCHORED if anchored else 0
            anchor = None if tx is None else intern("anchor_ids", tx)
            values = (gate(gate_id), at, root(root_), challenge(challenge_), flags, anchor)
            out.append((event_id, key, *values))
            if not pushed and source != "hub":
                pushes.append((event_id, key))
            if not anchored:
                anchors.append((event_id, key))
        db.executemany(
            "INSERT INTO checkins (event, nullifier, gate, checked_at, root, challenge, flags, "
            "anchor) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            out,
        )
        db.executemany("INSERT INTO push_queue (event, nullifier) VALUES (?, ?)", pushes)
        db.executemany("INSERT INTO anchor_queue (event, nullifier) VALUES (?, ?)", anchors)
    others = db.execute(
        "SELECT event, nullifier, gate_id, checked_at, root, challenge FROM legacy_other_uses"
    ).fetchall()
    db.executemany(
        "INSERT INTO other_uses (event, nullifier, gate, checked_at, root, challenge) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [
            (intern("event_ids", str(e).lower()), _blob(n), gate(g), at, root(r), challenge(c))
            for e, n, g, at, r, c in others
        ],
    )
    db.executemany(
        "INSERT INTO state (event, key, value) VALUES (?, ?, ?)",
        [
            (intern("event_ids", str(e).lower()), k, v)
            for e, k, v in db.execute("SELECT event, key, value FROM legacy_state").fetchall()
        ],
    )
    for table in ("legacy_checkins", "legacy_other_uses", "legacy_state"):
        db.execute(f"DROP TABLE {table}")
