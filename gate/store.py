"""The gate device's nullifier store: one SQLite file, atomic check-in, survives restarts.

Why SQLite through the standard library (not SQLAlchemy): a gate is one device, often offline,
and the check-in must cost well under a millisecond. One connection, WAL (readers never block
the writer).

Durability versus latency (settings ``gate_sqlite_synchronous`` and ``gate_flush_s``): every
admission survives a crash of the gate process in both modes. ``FULL`` also makes each one
survive a power cut, at the price of an fsync inside every check-in (measured here: ~10 ms per
admission on a loaded VM disk, which alone breaks the 10 ms budget). ``NORMAL`` (the default)
commits without fsync and a background thread checkpoints the WAL every ``flush_s`` seconds
(a checkpoint fsyncs the WAL first), so a power cut can lose at most the last ``flush_s``
seconds of admissions, and the hub holds a copy of whatever was pushed before. The fsync
happens off the door's critical path.

Tables (values are text: nullifiers, roots and challenges are 256-bit, above SQLite's INTEGER):

* ``checkins``, primary key ``(event, nullifier)``: the first use of a nullifier this device
  knows, made here (``source='local'``) or learned from the hub (``source='hub'``). Admission is
  one ``INSERT ... ON CONFLICT DO NOTHING``: the same nullifier can never be admitted twice, even
  by two threads at once. ``pushed`` and ``anchored`` track the hub backlog and the on-chain
  anchoring.
* ``other_uses``, primary key ``(event, nullifier, gate_id)``: further uses of a nullifier that is
  already in ``checkins`` but was used at another gate (two gates admitted it while offline). Both
  entries are kept; together they are a conflict (:meth:`NullifierStore.conflicts`), never
  silently dropped.
* ``state``: small per-event values (the hub cursor).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from eth_utils.address import is_address

from fairgate.errors import Conflict, ProofError

__all__ = ["CheckIn", "NullifierConflict", "NullifierStore", "NullifierUsed", "hex32", "norm_event"]

log = logging.getLogger(__name__)

SCHEMA = """
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

_SELECT = "SELECT event, nullifier, gate_id, checked_at, root, challenge, source FROM checkins "
_SELECT_OTHER = "SELECT event, nullifier, gate_id, checked_at, root, challenge FROM other_uses "
_INSERT = "INSERT INTO checkins (event, nullifier, gate_id, checked_at, root, challenge, source"
_INSERT_OTHER = (
    "INSERT INTO other_uses (event, nullifier, gate_id, checked_at, root, challenge) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (event, nullifier, gate_id) DO NOTHING"
)


def hex32(value: int) -> str:
    """A 256-bit value as ``0x`` + 64 lower-case hex digits (the stored and wire form)."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**256:
        raise ProofError("expected a 256-bit unsigned value")
    return f"0x{value:064x}"


def parse_hex32(text: str) -> int:
    """Inverse of :func:`hex32` (strict: ``0x`` and exactly 64 hex digits)."""
    if not isinstance(text, str) or len(text) != 66 or not text.startswith("0x"):
        raise ProofError("expected 0x and 64 hex digits")
    try:
        return int(text[2:], 16)
    except ValueError:
        raise ProofError("expected 0x and 64 hex digits") from None


def norm_event(address: str) -> str:
    """An event contract address in the stored form (lower case), checked."""
    if not isinstance(address, str) or not is_address(address):
        raise ProofError("event is not an Ethereum address")
    return address.lower()


@dataclass(frozen=True)
class CheckIn:
    """One use of a nullifier at one gate."""

    event: str
    nullifier: int
    gate_id: str
    checked_at: float
    root: int
    challenge: int
    source: Literal["local", "hub"] = "local"

    def to_wire(self) -> dict[str, str | float]:
        """The JSON form the hub exchanges (no ``source``: the hub knows who pushed)."""
        return {
            "nullifier": hex32(self.nullifier),
            "gate_id": self.gate_id,
            "checked_at": self.checked_at,
            "root": hex32(self.root),
            "challenge": hex32(self.challenge),
        }


def when(timestamp: float, now: float | None = None) -> str:
    """``19:02`` in the device's local time (``3 Mar 19:02`` when not within the last 20 h)."""
    now = time.time() if now is None else now
    local = time.localtime(timestamp)
    if abs(now - timestamp) < 20 * 3600:
        return time.strftime("%H:%M", local)
    return time.strftime("%d %b %H:%M", local).lstrip("0")


def gate_label(gate_id: str) -> str:
    """``gate B`` for id ``B``, ``gate-2`` as is: how staff read a gate's name."""
    return gate_id if gate_id.lower().startswith("gate") else f"gate {gate_id}"


class NullifierUsed(Conflict):
    """This ticket was already used."""

    code = "nullifier_used"

    def __init__(self, first: CheckIn, *, here: str) -> None:
        where = "this gate" if first.gate_id == here else gate_label(first.gate_id)
        super().__init__(f"already used at {where} at {when(first.checked_at)}")
        self.first = first


@dataclass(frozen=True)
class NullifierConflict:
    """A nullifier admitted at two or more gates (each entry kept, first use first)."""

    event: str
    nullifier: int
    entries: tuple[CheckIn, ...] = field(default_factory=tuple)

    @property
    def gates(self) -> tuple[str, ...]:
        return tuple(e.gate_id for e in self.entries)


class NullifierStore:
    """One gate device's nullifiers (thread safe; one connection guarded by a lock)."""

    def __init__(
        self,
        path: Path | str,
        *,
        gate_id: str,
        synchronous: Literal["FULL", "NORMAL"] = "NORMAL",
        flush_s: float = 1.0,
    ) -> None:
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError("synchronous must be FULL or NORMAL")
        self.gate_id = gate_id
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: autocommit; multi-statement work uses explicit BEGIN IMMEDIATE
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._lock = threading.RLock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.executescript(SCHEMA)
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None
        if synchronous == "NORMAL" and self.path != ":memory:":
            self._flusher = threading.Thread(
                target=self._flush_loop, args=(flush_s,), name="gate-store-flush", daemon=True
            )
            self._flusher.start()

    def _flush_loop(self, every_s: float) -> None:
        """Checkpoint the WAL (fsync) every ``every_s`` s from a connection of its own, so the
        fsync never holds the check-in lock (a PASSIVE checkpoint does not block writers)."""
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA synchronous=NORMAL")
            while not self._stop.wait(every_s):
                self.flush(db)
            self.flush(db)
        finally:
            db.close()

    @staticmethod
    def flush(db: sqlite3.Connection) -> None:
        try:
            db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:  # busy or closing: the next round retries
            log.debug("WAL checkpoint skipped: %s", exc)

    def close(self) -> None:
        self._stop.set()
        if self._flusher is not None:
            self._flusher.join(timeout=5)
        with self._lock:
            self._db.close()

    def __enter__(self) -> NullifierStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # ------------------------------------------------------------------ admission

    def check_in(
        self, event: str, nullifier: int, *, root: int, challenge: int, at: float | None = None
    ) -> CheckIn:
        """Record a use of ``nullifier`` here; :class:`NullifierUsed` if it was used before.

        One ``INSERT ... ON CONFLICT DO NOTHING`` statement: atomic, so two scanners sharing the
        store can never both admit the same ticket.
        """
        entry = CheckIn(
            norm_event(event),
            nullifier,
            self.gate_id,
            time.time() if at is None else at,
            root,
            challenge,
        )
        with self._lock:
            cursor = self._db.execute(
                _INSERT + ") VALUES (?, ?, ?, ?, ?, ?, 'local') "
                "ON CONFLICT (event, nullifier) DO NOTHING",
                _row(entry),
            )
            if cursor.rowcount == 1:
                return entry
            first = self.lookup(event, nullifier)
        assert first is not None  # rows are never deleted
        raise NullifierUsed(first, here=self.gate_id)

    def lookup(self, event: str, nullifier: int) -> CheckIn | None:
        """The first known use of a nullifier, if any."""
        with self._lock:
            row = self._db.execute(
                _SELECT + "WHERE event = ? AND nullifier = ?",
                (norm_event(event), hex32(nullifier)),
            ).fetchone()
        return None if row is None else _checkin(row)

    def count(self, event: str) -> int:
        with self._lock:
            (n,) = self._db.execute(
                "SELECT count(*) FROM checkins WHERE event = ?", (norm_event(event),)
            ).fetchone()
        return int(n)

    # ------------------------------------------------------------------ hub sync

    def unpushed(self, event: str, limit: int) -> list[CheckIn]:
        """Local check-ins the hub has not acknowledged yet, oldest first."""
        with self._lock:
            rows = self._db.execute(
                _SELECT + "WHERE event = ? AND pushed = 0 ORDER BY checked_at LIMIT ?",
                (norm_event(event), limit),
            ).fetchall()
        return [_checkin(r) for r in rows]

    def mark_pushed(self, event: str, nullifiers: Iterable[int]) -> None:
        with self._write() as db:
            db.executemany(
                "UPDATE checkins SET pushed = 1 WHERE event = ? AND nullifier = ?",
                [(norm_event(event), hex32(n)) for n in nullifiers],
            )

    def apply_remote(self, event: str, entries: Iterable[CheckIn]) -> tuple[int, int]:
        """Merge other gates' check-ins; returns ``(new nullifiers, new conflicting uses)``.

        A nullifier unknown here becomes a ``hub`` check-in (this gate will refuse it). A
        nullifier already known from another gate is kept as an extra use: a conflict.
        """
        key = norm_event(event)
        new = conflicts = 0
        with self._write() as db:
            for entry in entries:
                row = _row(entry, event=key)
                cursor = db.execute(
                    _INSERT + ", pushed) VALUES (?, ?, ?, ?, ?, ?, 'hub', 1) "
                    "ON CONFLICT (event, nullifier) DO NOTHING",
                    row,
                )
                if cursor.rowcount == 1:
                    new += 1
                    continue
                (first_gate,) = db.execute(
                    "SELECT gate_id FROM checkins WHERE event = ? AND nullifier = ?", row[:2]
                ).fetchone()
                if first_gate == entry.gate_id:
                    continue  # the same use, seen again
                cursor = db.execute(
                    _INSERT_OTHER,
                    row,
                )
                if cursor.rowcount == 1:
                    conflicts += 1
                    log.warning(
                        "nullifier %s… used at %s and %s",
                        hex32(entry.nullifier)[:12],
                        first_gate,
                        entry.gate_id,
                    )
        return new, conflicts

    def conflicts(self, event: str) -> list[NullifierConflict]:
        """Every nullifier used at more than one gate, with all its uses."""
        key = norm_event(event)
        with self._lock:
            others = self._db.execute(
                _SELECT_OTHER + "WHERE event = ? ORDER BY nullifier, checked_at",
                (key,),
            ).fetchall()
            result = []
            grouped: dict[str, list[tuple[object, ...]]] = {}
            for row in others:
                grouped.setdefault(row[1], []).append(row)
            for nullifier, rows in grouped.items():
                first = self._db.execute(
                    _SELECT + "WHERE event = ? AND nullifier = ?",
                    (key, nullifier),
                ).fetchone()
                entries = [_checkin(first), *(_checkin((*r, "hub")) for r in rows)]
                entries.sort(key=lambda e: e.checked_at)
                result.append(NullifierConflict(key, parse_hex32(nullifier), tuple(entries)))
        return result

    def get_state(self, event: str, key: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM state WHERE event = ? AND key = ?", (norm_event(event), key)
            ).fetchone()
        return None if row is None else str(row[0])

    def set_state(self, event: str, key: str, value: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO state (event, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (event, key) DO UPDATE SET value = excluded.value",
                (norm_event(event), key, value),
            )

    # ------------------------------------------------------------------ anchoring

    def unanchored(self, event: str, limit: int) -> list[int]:
        """Nullifiers used at any gate (known here) not yet anchored on-chain by this device."""
        with self._lock:
            rows = self._db.execute(
                "SELECT nullifier FROM checkins WHERE event = ? AND anchored = 0 "
                "ORDER BY checked_at LIMIT ?",
                (norm_event(event), limit),
            ).fetchall()
        return [parse_hex32(r[0]) for r in rows]

    def mark_anchored(self, event: str, nullifiers: Sequence[int], tx_hash: str | None) -> None:
        """Record that these nullifiers are on-chain (``tx_hash`` None: found already there)."""
        with self._write() as db:
            db.executemany(
                "UPDATE checkins SET anchored = 1, anchor_tx = ? WHERE event = ? AND nullifier = ?",
                [(tx_hash, norm_event(event), hex32(n)) for n in nullifiers],
            )

    def anchored_count(self, event: str) -> int:
        with self._lock:
            (n,) = self._db.execute(
                "SELECT count(*) FROM checkins WHERE event = ? AND anchored = 1",
                (norm_event(event),),
            ).fetchone()
        return int(n)


def _row(entry: CheckIn, *, event: str | None = None) -> tuple[str, str, str, float, str, str]:
    return (
        event or entry.event,
        hex32(entry.nullifier),
        entry.gate_id,
        float(entry.checked_at),
        hex32(entry.root),
        hex32(entry.challenge),
    )


def _checkin(row: Sequence[object]) -> CheckIn:
    event, nullifier, gate_id, checked_at, root, challenge, source = row
    return CheckIn(
        event=str(event),
        nullifier=parse_hex32(str(nullifier)),
        gate_id=str(gate_id),
        checked_at=float(checked_at),  # type: ignore[arg-type]
        root=parse_hex32(str(root)),
        challenge=parse_hex32(str(challenge)),
        source="hub" if source == "hub" else "local",
    )
