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

Size (schema version 2, issue 16): a stadium gate holds up to a million nullifiers, so a row
carries little more than its nullifier.

* 256-bit values are 32-byte big-endian blobs, not hex text.
* What repeats is stored once and referred to by a small integer: the event address
  (``event_ids``), gate ids (``gate_ids``), roots and challenges (``root_ids``,
  ``challenge_ids``: one per publication or challenge window, shared by every check-in made
  under it) and anchor transactions (``anchor_ids``).
* ``checkins`` is a ``WITHOUT ROWID`` table keyed by ``(event id, nullifier)`` with no
  secondary index. ``flags`` holds the source (hub), ``pushed`` and ``anchored`` bits.
* The work still to do is two append-only queues instead of indexes over every row:
  ``push_queue`` (local check-ins for the hub) and ``anchor_queue`` (nullifiers to anchor).
  Marking a row pushed or anchored sets its bit (one primary-key update); the queue entry is
  dropped the next time the queue is read, so neither write needs an index on the queue.
* The WAL is bounded: ``journal_size_limit`` truncates it after each checkpoint, and a
  checkpoint runs every ``wal_autocheckpoint`` pages and every ``flush_s`` in NORMAL mode.
* Merges from the hub (:meth:`NullifierStore.apply_remote`) are set operations: one probe of
  the batch's keys, then one ``executemany`` of the new rows in key order inside one
  transaction, with a page cache large enough to hold the tree's inner pages.

Tables:

* ``checkins``: the first use of a nullifier this device knows, made here (source local) or
  learned from the hub. Admission is one ``INSERT ... ON CONFLICT DO NOTHING``: the same
  nullifier can never be admitted twice, even by two threads at once.
* ``other_uses``, keyed by ``(event, nullifier, gate)``: further uses of a nullifier already in
  ``checkins`` but used at another gate (two gates admitted it while offline). Both entries are
  kept; together they are a conflict (:meth:`NullifierStore.conflicts`), never silently dropped.
* ``state``: small per-event values (the hub cursor).

A store file in the first format (hex text, schema version 0) is converted on open, in one
transaction (:mod:`gate.store_migration`).
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
from typing import Any, Literal

from eth_utils.address import is_address

from fairgate.errors import ConfigError, Conflict, ProofError

__all__ = [
    "CheckIn",
    "NullifierConflict",
    "NullifierStore",
    "NullifierUsed",
    "b32",
    "hex32",
    "norm_event",
]

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
#: Page cache of the store's connection (KiB): the inner pages of a million-row tree fit.
CACHE_KIB = 32 * 1024
#: Pages are read through a memory map up to this size (no read() copy for each page).
MMAP_BYTES = 256 * 1024 * 1024
#: The WAL is truncated to this after a checkpoint (bytes), and checkpointed every N pages.
WAL_LIMIT_BYTES = 16 * 1024 * 1024
WAL_AUTOCHECKPOINT_PAGES = 1_000
#: Queue entries read per round when dropping entries whose work is already done.
_QUEUE_PAGE = 1_000
#: Nullifiers probed per statement in a merge (below SQLite's parameter limit).
_PROBE = 500

SCHEMA = """
CREATE TABLE IF NOT EXISTS event_ids (id INTEGER PRIMARY KEY, address TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS gate_ids (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS root_ids (id INTEGER PRIMARY KEY, value BLOB NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS challenge_ids (id INTEGER PRIMARY KEY, value BLOB NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS anchor_ids (id INTEGER PRIMARY KEY, tx TEXT UNIQUE);
CREATE TABLE IF NOT EXISTS checkins (
    event INTEGER NOT NULL,
    nullifier BLOB NOT NULL,
    gate INTEGER NOT NULL,
    checked_at REAL NOT NULL,
    root INTEGER NOT NULL,
    challenge INTEGER NOT NULL,
    flags INTEGER NOT NULL,
    anchor INTEGER,
    PRIMARY KEY (event, nullifier)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS other_uses (
    event INTEGER NOT NULL,
    nullifier BLOB NOT NULL,
    gate INTEGER NOT NULL,
    checked_at REAL NOT NULL,
    root INTEGER NOT NULL,
    challenge INTEGER NOT NULL,
    PRIMARY KEY (event, nullifier, gate)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS push_queue (
    seq INTEGER PRIMARY KEY, event INTEGER NOT NULL, nullifier BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS anchor_queue (
    seq INTEGER PRIMARY KEY, event INTEGER NOT NULL, nullifier BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS state (
    event INTEGER NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (event, key)
) WITHOUT ROWID;
"""

# flags of a checkins row
HUB = 1
PUSHED = 2
ANCHORED = 4

_INSERT = (
    "INSERT INTO checkins (event, nullifier, gate, checked_at, root, challenge, flags) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event, nullifier) DO NOTHING"
)
_SELECT = "SELECT event, nullifier, gate, checked_at, root, challenge, flags FROM checkins "
# a merge's probe: which of _PROBE nullifiers are known (a short batch repeats its last key)
_PROBE_SQL = (
    "SELECT nullifier, gate, checked_at FROM checkins WHERE event = ? AND nullifier IN ("  # noqa: S608
    + ",".join("?" * _PROBE)
    + ")"
)
# per queue: read a page (joined with its rows), drop done entries
_QUEUES = {
    "push_queue": (
        "SELECT q.seq, c.event, c.nullifier, c.gate, c.checked_at, c.root, c.challenge, c.flags "
        "FROM push_queue q JOIN checkins c ON c.event = q.event AND c.nullifier = q.nullifier "
        "WHERE q.event = ? AND q.seq > ? ORDER BY q.seq LIMIT ?",
        "DELETE FROM push_queue WHERE seq = ?",
    ),
    "anchor_queue": (
        "SELECT q.seq, c.event, c.nullifier, c.gate, c.checked_at, c.root, c.challenge, c.flags "
        "FROM anchor_queue q JOIN checkins c ON c.event = q.event AND c.nullifier = q.nullifier "
        "WHERE q.event = ? AND q.seq > ? ORDER BY q.seq LIMIT ?",
        "DELETE FROM anchor_queue WHERE seq = ?",
    ),
}
_INSERT_OTHER = (
    "INSERT INTO other_uses (event, nullifier, gate, checked_at, root, challenge) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (event, nullifier, gate) DO NOTHING"
)
_SELECT_OTHER = "SELECT event, nullifier, gate, checked_at, root, challenge FROM other_uses "


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


def b32(value: int) -> bytes:
    """A 256-bit value as the stored 32-byte big-endian blob."""
    if type(value) is not int:  # bool and int subclasses are refused
        raise ProofError("expected a 256-bit unsigned value")
    try:
        return value.to_bytes(32, "big")  # refuses negatives and values of 2**256 or more
    except OverflowError:
        raise ProofError("expected a 256-bit unsigned value") from None


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


#: The gate id of an entry verified on-chain (``TicketGate.checkIn``), copied in at a root sync.
ON_CHAIN_GATE = "on-chain"
#: The gate id of a nullifier a gate anchored on-chain, when no gate here knew it.
ANCHORED_GATE = "anchored"


def gate_label(gate_id: str) -> str:
    """``gate B`` for id ``B``, ``gate-2`` as is: how staff read a gate's name."""
    if gate_id == ON_CHAIN_GATE:
        return "the on-chain entrance"
    if gate_id == ANCHORED_GATE:
        return "another gate (anchored on-chain)"
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


REFUSED = "refused:"  # state keys refused:<minute>:<reason> -> count
REFUSED_SENT = "refused_sent:"  # ... and the count the hub acknowledged


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
        self._ids: dict[str, dict[Any, int]] = {}
        self._values: dict[str, dict[int, Any]] = {}
        self._refused: dict[tuple[str, int, str], int] = {}  # counted, not yet stored
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.execute(f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}")
            self._db.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
            self._db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            self._db.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
            self._open_schema()
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None
        if synchronous == "NORMAL" and self.path != ":memory:":
            self._flusher = threading.Thread(
                target=self._flush_loop, args=(flush_s,), name="gate-store-flush", daemon=True
            )
            self._flusher.start()

    def _open_schema(self) -> None:
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise ConfigError(
                f"gate store {self.path} has schema version {version}; this code knows "
                f"{SCHEMA_VERSION} (update the gate software)"
            )
        from gate.store_migration import is_legacy, migrate_legacy

        self._db.execute("BEGIN IMMEDIATE")
        try:
            legacy = is_legacy(self._db)
            if legacy:
                self._db.execute("ALTER TABLE checkins RENAME TO legacy_checkins")
                self._db.execute("ALTER TABLE other_uses RENAME TO legacy_other_uses")
                self._db.execute("ALTER TABLE state RENAME TO legacy_state")
                self._db.execute("DROP INDEX IF EXISTS checkins_backlog")
                self._db.execute("DROP INDEX IF EXISTS checkins_unanchored")
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            if legacy:
                migrate_legacy(self._db, self._intern)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except BaseException:
            self._db.execute("ROLLBACK")
            self._forget()
            raise
        self._db.execute("COMMIT")
        if legacy:
            log.info("gate store %s converted to schema version %d", self.path, SCHEMA_VERSION)
            self._db.execute("VACUUM")  # give the old format's pages back to the file system

    def _flush_loop(self, every_s: float) -> None:
        """Checkpoint the WAL (fsync) every ``every_s`` s from a connection of its own, so the
        fsync never holds the check-in lock (a PASSIVE checkpoint does not block writers)."""
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}")
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
            try:
                self._save_refusals()
            except sqlite3.Error as exc:  # counts only: never keep a gate from closing
                log.warning("refusal counts not saved: %s", exc)
            try:  # leave no WAL behind when nobody else has the file open
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            except sqlite3.Error as exc:
                log.debug("final WAL checkpoint skipped: %s", exc)
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
                self._forget()
                raise
            self._db.execute("COMMIT")

    # ------------------------------------------------------------------ interned values

    # per interned table: find the id, make one, read the value
    _INTERNED = {
        "event_ids": (
            "SELECT id FROM event_ids WHERE address = ?",
            "INSERT INTO event_ids (address) VALUES (?)",
            "SELECT address FROM event_ids WHERE id = ?",
        ),
        "gate_ids": (
            "SELECT id FROM gate_ids WHERE name = ?",
            "INSERT INTO gate_ids (name) VALUES (?)",
            "SELECT name FROM gate_ids WHERE id = ?",
        ),
        "root_ids": (
            "SELECT id FROM root_ids WHERE value = ?",
            "INSERT INTO root_ids (value) VALUES (?)",
            "SELECT value FROM root_ids WHERE id = ?",
        ),
        "challenge_ids": (
            "SELECT id FROM challenge_ids WHERE value = ?",
            "INSERT INTO challenge_ids (value) VALUES (?)",
            "SELECT value FROM challenge_ids WHERE id = ?",
        ),
        "anchor_ids": (
            "SELECT id FROM anchor_ids WHERE tx = ?",
            "INSERT INTO anchor_ids (tx) VALUES (?)",
            "SELECT tx FROM anchor_ids WHERE id = ?",
        ),
    }

    def _forget(self) -> None:
        """Drop the interned-value caches (a rolled-back transaction may have made ids)."""
        self._ids.clear()
        self._values.clear()

    def _intern(self, table: str, value: Any) -> int:
        """The id of ``value`` in ``table``, made if new (call under the lock)."""
        ids = self._ids.setdefault(table, {})
        found = ids.get(value)
        if found is not None:
            return found
        find, make, _ = self._INTERNED[table]
        row = self._db.execute(find, (value,)).fetchone()
        if row is None:
            cursor = self._db.execute(make, (value,))
            ident = int(cursor.lastrowid or 0)
        else:
            ident = int(row[0])
        ids[value] = ident
        self._values.setdefault(table, {})[ident] = value
        return ident

    def _known(self, table: str, value: Any) -> int | None:
        """The id of ``value`` if it was ever stored (never makes one)."""
        found = self._ids.get(table, {}).get(value)
        if found is not None:
            return found
        row = self._db.execute(self._INTERNED[table][0], (value,)).fetchone()
        if row is None:
            return None
        self._ids.setdefault(table, {})[value] = int(row[0])
        self._values.setdefault(table, {})[int(row[0])] = value
        return int(row[0])

    def _value(self, table: str, ident: int) -> Any:
        values = self._values.setdefault(table, {})
        if ident not in values:
            (value,) = self._db.execute(self._INTERNED[table][2], (ident,)).fetchone()
            values[ident] = value
            self._ids.setdefault(table, {})[value] = ident
        return values[ident]

    def _event_id(self, event: str, *, make: bool = False) -> int | None:
        # the address as the caller spells it -> its id: a checksummed address costs a keccak
        # to check, which a door should pay once, not on every scan
        raw = self._ids.setdefault("raw_event", {})
        found = raw.get(event)
        if found is not None:
            return found
        key = norm_event(event)
        ident = self._intern("event_ids", key) if make else self._known("event_ids", key)
        if ident is not None:
            raw[event] = ident
        return ident

    def _made_event_id(self, event: str) -> int:
        """The id of ``event``, made if new (call inside a write)."""
        ident = self._event_id(event, make=True)
        assert ident is not None
        return ident

    def _checkin(self, row: Sequence[Any]) -> CheckIn:
        event, nullifier, gate, checked_at, root, challenge, flags = row
        return CheckIn(
            event=str(self._value("event_ids", event)),
            nullifier=int.from_bytes(nullifier, "big"),
            gate_id=str(self._value("gate_ids", gate)),
            checked_at=float(checked_at),
            root=int.from_bytes(self._value("root_ids", root), "big"),
            challenge=int.from_bytes(self._value("challenge_ids", challenge), "big"),
            source="hub" if flags & HUB else "local",
        )

    def _row(self, entry: CheckIn, event_id: int, flags: int) -> tuple[Any, ...]:
        # roots and challenges repeat from row to row: their ids are cached by value
        by_int = self._ids.setdefault("by_int", {})
        root = by_int.get(("r", entry.root))
        if root is None:
            root = by_int[("r", entry.root)] = self._intern("root_ids", b32(entry.root))
        challenge = by_int.get(("c", entry.challenge))
        if challenge is None:
            challenge = self._intern("challenge_ids", b32(entry.challenge))
            by_int[("c", entry.challenge)] = challenge
        gate = self._ids.get("gate_ids", {}).get(entry.gate_id)
        if gate is None:
            gate = self._intern("gate_ids", entry.gate_id)
        return (
            event_id,
            b32(entry.nullifier),
            gate,
            float(entry.checked_at),
            root,
            challenge,
            flags,
        )

    # ------------------------------------------------------------------ admission

    def check_in(
        self, event: str, nullifier: int, *, root: int, challenge: int, at: float | None = None
    ) -> CheckIn:
        """Record a use of ``nullifier`` here; :class:`NullifierUsed` if it was used before.

        One ``INSERT ... ON CONFLICT DO NOTHING`` decides: atomic, so two scanners sharing the
        store can never both admit the same ticket. The row and its two queue entries are
        written in one transaction.
        """
        at = time.time() if at is None else at
        with self._write() as db:
            event_id = self._made_event_id(event)
            entry = CheckIn(
                self._value("event_ids", event_id), nullifier, self.gate_id, at, root, challenge
            )
            row = self._row(entry, event_id, 0)
            if db.execute(_INSERT, row).rowcount == 1:
                db.execute(
                    "INSERT INTO push_queue (event, nullifier) VALUES (?, ?)", (event_id, row[1])
                )
                db.execute(
                    "INSERT INTO anchor_queue (event, nullifier) VALUES (?, ?)",
                    (event_id, row[1]),
                )
                return entry
        first = self.lookup(event, nullifier)
        assert first is not None  # rows are never deleted
        raise NullifierUsed(first, here=self.gate_id)

    def lookup(self, event: str, nullifier: int) -> CheckIn | None:
        """The first known use of a nullifier, if any."""
        key = b32(nullifier)
        with self._lock:
            event_id = self._event_id(event)
            if event_id is None:
                return None
            row = self._db.execute(
                _SELECT + "WHERE event = ? AND nullifier = ?", (event_id, key)
            ).fetchone()
            return None if row is None else self._checkin(row)

    def count(self, event: str) -> int:
        with self._lock:
            event_id = self._event_id(event)
            if event_id is None:
                return 0
            (n,) = self._db.execute(
                "SELECT count(*) FROM checkins WHERE event = ?", (event_id,)
            ).fetchone()
        return int(n)

    # ------------------------------------------------------------------ queues

    def _queued(self, queue: str, flag: int, event_id: int, limit: int) -> list[CheckIn]:
        """The oldest ``limit`` entries of ``queue`` whose row lacks ``flag``; entries whose
        row has it (done since) are dropped on the way."""
        found: list[CheckIn] = []
        after = 0
        while len(found) < limit:
            read, drop = _QUEUES[queue]
            page = self._db.execute(read, (event_id, after, _QUEUE_PAGE)).fetchall()
            if not page:
                break
            done = [(row[0],) for row in page if int(row[7]) & flag]
            if done:
                with self._write() as db:
                    db.executemany(drop, done)
            for row in page:
                if not int(row[7]) & flag and len(found) < limit:
                    found.append(self._checkin(row[1:]))
            after = int(page[-1][0])
        return found

    def _mark(
        self, event: str, nullifiers: Iterable[int], flag: int, tx_hash: str | None = None
    ) -> None:
        with self._write() as db:
            event_id = self._event_id(event)
            if event_id is None:
                return
            anchor = None if tx_hash is None else self._intern("anchor_ids", tx_hash)
            db.executemany(
                "UPDATE checkins SET flags = flags | ?, anchor = coalesce(?, anchor) "
                "WHERE event = ? AND nullifier = ?",
                [(flag, anchor, event_id, b32(n)) for n in nullifiers],
            )

    # ------------------------------------------------------------------ hub sync

    def unpushed(self, event: str, limit: int) -> list[CheckIn]:
        """Local check-ins the hub has not acknowledged yet, oldest first."""
        with self._lock:
            event_id = self._event_id(event)
            if event_id is None:
                return []
            return self._queued("push_queue", PUSHED, event_id, limit)

    def mark_pushed(self, event: str, nullifiers: Iterable[int]) -> None:
        self._mark(event, nullifiers, PUSHED)

    def apply_remote(
        self, event: str, entries: Iterable[CheckIn], *, copies: bool = False
    ) -> tuple[int, int]:
        """Merge other gates' check-ins; returns ``(new nullifiers, new conflicting uses)``.

        A nullifier unknown here becomes a ``hub`` check-in (this gate will refuse it). A
        nullifier already known from another use is kept as an extra use: a conflict, also when
        both uses carry the same gate id (two devices configured alike): the same use seen again
        is the same gate id *and* the same admission time. With ``copies`` the entries are copies
        of uses recorded elsewhere (nullifiers anchored on-chain): only unknown ones are added,
        never as a conflict.

        One transaction: the batch's keys are probed in a few statements, then the new rows go
        in with one ``executemany`` in key order (B-tree pages are filled in order); per row
        this costs about the same at 10 thousand rows stored as at a million.
        """
        batch = list(entries)
        if not batch:
            return 0, 0
        new = conflicts = 0
        with self._write() as db:
            event_id = self._made_event_id(event)
            firsts: dict[bytes, tuple[CheckIn, tuple[Any, ...]]] = {}
            extras: list[tuple[CheckIn, tuple[Any, ...]]] = []
            for entry in batch:
                row = self._row(entry, event_id, HUB | PUSHED)
                key = row[1]
                if key in firsts:
                    extras.append((entry, row))
                else:
                    firsts[key] = (entry, row)
            keys = sorted(firsts)
            # nullifier -> (gate id, admission time) of its first use here
            known: dict[bytes, tuple[int, float]] = {}
            for i in range(0, len(keys), _PROBE):
                chunk = keys[i : i + _PROBE]
                chunk += [chunk[-1]] * (_PROBE - len(chunk))
                for nullifier, gate, at in db.execute(_PROBE_SQL, (event_id, *chunk)):
                    known[nullifier] = (gate, float(at))
            fresh = [firsts[k][1] for k in keys if k not in known]
            fresh_keys = {row[1] for row in fresh}
            if fresh:
                db.executemany(_INSERT, fresh)
                db.executemany(
                    "INSERT INTO anchor_queue (event, nullifier) VALUES (?, ?)",
                    [(event_id, row[1]) for row in fresh],
                )
                new = len(fresh)
                for row in fresh:
                    known[row[1]] = (row[2], float(row[3]))
            if copies:
                return new, 0
            # further uses: an entry whose nullifier was known here before, or a second entry
            # of the batch for one nullifier
            others = [firsts[k] for k in keys if k not in fresh_keys] + extras
            for entry, row in others:
                first_gate, first_at = known[row[1]]
                if (first_gate, first_at) == (row[2], float(row[3])):
                    continue  # the same use, seen again
                if db.execute(_INSERT_OTHER, row[:6]).rowcount == 1:
                    conflicts += 1
                    log.warning(
                        "nullifier %s… used at %s and %s",
                        hex32(entry.nullifier)[:12],
                        self._value("gate_ids", first_gate),
                        entry.gate_id,
                    )
        return new, conflicts

    def conflicts(self, event: str) -> list[NullifierConflict]:
        """Every nullifier used at more than one gate, with all its uses."""
        with self._lock:
            event_id = self._event_id(event)
            if event_id is None:
                return []
            others = self._db.execute(
                _SELECT_OTHER + "WHERE event = ? ORDER BY nullifier, checked_at",
                (event_id,),
            ).fetchall()
            result = []
            grouped: dict[bytes, list[tuple[Any, ...]]] = {}
            for row in others:
                grouped.setdefault(row[1], []).append(row)
            for nullifier, rows in grouped.items():
                first = self._db.execute(
                    _SELECT + "WHERE event = ? AND nullifier = ?", (event_id, nullifier)
                ).fetchone()
                entries = [self._checkin(first), *(self._checkin((*r, HUB)) for r in rows)]
                entries.sort(key=lambda e: e.checked_at)
                result.append(
                    NullifierConflict(
                        norm_event(event), int.from_bytes(nullifier, "big"), tuple(entries)
                    )
                )
        return result

    def get_state(self, event: str, key: str) -> str | None:
        with self._lock:
            event_id = self._event_id(event)
            if event_id is None:
                return None
            row = self._db.execute(
                "SELECT value FROM state WHERE event = ? AND key = ?", (event_id, key)
            ).fetchone()
        return None if row is None else str(row[0])

    def set_state(self, event: str, key: str, value: str) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO state (event, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (event, key) DO UPDATE SET value = excluded.value",
                (self._made_event_id(event), key, value),
            )

    # ------------------------------------------------------------------ refusal counters

    def count_refusal(self, event: str, reason: str, at: float | None = None) -> None:
        """Count one refused code of ``reason`` in its minute bucket (counts only: no nullifier
        or anything else of the code is kept). The count waits in memory, so a refusal costs no
        write; :meth:`refusal_counts` (each sync) and :meth:`close` store it: a power cut loses
        at most the refusals counted since the last sync, never an admission. The counters are
        cumulative; the hub keeps the largest value it was sent
        (:func:`api.gate_hub.push_refusals`).
        """
        minute = int((time.time() if at is None else at) // 60)
        with self._lock:
            key = (event, minute, reason)
            self._refused[key] = self._refused.get(key, 0) + 1

    def _save_refusals(self) -> None:
        with self._lock:
            if not self._refused:
                return
            with self._write() as db:
                db.executemany(
                    "INSERT INTO state (event, key, value) VALUES (?, ?, ?) "
                    "ON CONFLICT (event, key) DO UPDATE "
                    "SET value = CAST(value AS INTEGER) + excluded.value",
                    [
                        (self._made_event_id(event), f"{REFUSED}{minute}:{reason}", n)
                        for (event, minute, reason), n in self._refused.items()
                    ],
                )
            self._refused.clear()

    def refusal_counts(self, event: str) -> dict[tuple[int, str], tuple[int, int]]:
        """``(minute, reason) -> (count, count the hub acknowledged)`` of ``event``."""
        self._save_refusals()
        with self._lock:
            event_id = self._event_id(event)
            if event_id is None:
                return {}
            rows = self._db.execute(
                "SELECT key, value FROM state WHERE event = ? AND (key LIKE ? OR key LIKE ?)",
                (event_id, f"{REFUSED}%", f"{REFUSED_SENT}%"),
            ).fetchall()
        counts: dict[tuple[int, str], list[int]] = {}
        for key, value in rows:
            sent = key.startswith(REFUSED_SENT)
            minute, _, reason = key.removeprefix(REFUSED_SENT if sent else REFUSED).partition(":")
            pair = counts.setdefault((int(minute), reason), [0, 0])
            pair[1 if sent else 0] = int(value)
        return {k: (v[0], v[1]) for k, v in counts.items()}

    def mark_refusals_sent(self, event: str, sent: dict[tuple[int, str], int]) -> None:
        """Record the counts the hub acknowledged (only higher counts are pushed again)."""
        with self._write() as db:
            event_id = self._made_event_id(event)
            db.executemany(
                "INSERT INTO state (event, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (event, key) DO UPDATE SET value = excluded.value",
                [(event_id, f"{REFUSED_SENT}{m}:{r}", str(n)) for (m, r), n in sent.items()],
            )

    # ------------------------------------------------------------------ anchoring

    def unanchored(self, event: str, limit: int) -> list[int]:
        """Nullifiers used at any gate (known here) not yet anchored on-chain by this device,
        in the order this device learned them."""
        with self._lock:
            event_id = self._event_id(event)
            if event_id is None:
                return []
            return [e.nullifier for e in self._queued("anchor_queue", ANCHORED, event_id, limit)]

    def mark_anchored(self, event: str, nullifiers: Sequence[int], tx_hash: str | None) -> None:
        """Record that these nullifiers are on-chain (``tx_hash`` None: found already there)."""
        self._mark(event, nullifiers, ANCHORED, tx_hash)

    def anchored_count(self, event: str) -> int:
        with self._lock:
            event_id = self._event_id(event)
            if event_id is None:
                return 0
            (n,) = self._db.execute(
                "SELECT count(*) FROM checkins WHERE event = ? AND flags & ? != 0",
                (event_id, ANCHORED),
            ).fetchone()
        return int(n)
