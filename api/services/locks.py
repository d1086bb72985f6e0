"""Cross-process locks for the workers.

PostgreSQL: session-level advisory locks on one dedicated connection per worker process. They are
released by PostgreSQL itself when the process dies (its connection closes), so "this batch's
lock can be taken" means "no live worker owns it": that is how orphaned batches are found after a
SIGKILL, without leases or clocks. SQLite: process-local locks (one worker per database file).

Advisory locks belong to the whole database, not to a schema: each lock's namespace is mixed with
the connection's ``current_schema()``, so bridges (or tests) in separate schemas of one database
never take each other's batch or send locks (batch ids restart at 1 in every schema; before this,
one schema's batch 1 blocked another's, seen as tests that minted nothing on a shared server).
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text

BATCH_NS = 0x46474231  # "FGB1": batch ownership
SEND_NS = 0x46475331  # "FGS1": one sender per account at a time


class WorkerLocks:
    def __init__(self, engine: Engine) -> None:
        self._pg = engine.dialect.name == "postgresql"
        self._conn: Connection | None = engine.connect() if self._pg else None
        self._scope = 0
        if self._conn is not None:
            self._conn.execution_options(isolation_level="AUTOCOMMIT")
            schema = str(self._conn.execute(text("SELECT current_schema()")).scalar() or "")
            self._scope = zlib.crc32(schema.encode())
        self._local: set[tuple[int, int]] = set()
        self._mutex = threading.Lock()
        self._send_locks: dict[int, threading.Lock] = {}

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _ns(self, ns: int) -> int:
        """The namespace as PostgreSQL sees it: ours mixed with the schema's (a signed int4)."""
        mixed = (ns ^ self._scope) & 0xFFFFFFFF
        return mixed - (1 << 32) if mixed >= 1 << 31 else mixed

    def try_acquire(self, ns: int, key: int) -> bool:
        with self._mutex:
            if self._conn is not None:
                got = bool(
                    self._conn.execute(
                        text("SELECT pg_try_advisory_lock(:ns, :key)"),
                        {"ns": self._ns(ns), "key": key},
                    ).scalar()
                )
                if got and (ns, key) in self._local:  # re-entrant: undo the extra count
                    self._conn.execute(
                        text("SELECT pg_advisory_unlock(:ns, :key)"),
                        {"ns": self._ns(ns), "key": key},
                    )
                if got:
                    self._local.add((ns, key))
                return got
            if (ns, key) in self._local:
                return False
            self._local.add((ns, key))
            return True

    def owns(self, ns: int, key: int) -> bool:
        return (ns, key) in self._local

    def release(self, ns: int, key: int) -> None:
        with self._mutex:
            if (ns, key) not in self._local:
                return
            self._local.discard((ns, key))
            if self._conn is not None:
                self._conn.execute(
                    text("SELECT pg_advisory_unlock(:ns, :key)"), {"ns": self._ns(ns), "key": key}
                )

    @contextmanager
    def sending(self, account: str) -> Iterator[bool]:
        """Hold the send lock of ``account`` (blocking); yields whether other processes may use it
        too (then the caller resyncs its nonce from the node)."""
        key = zlib.crc32(account.lower().encode()) & 0x7FFFFFFF
        with self._mutex:
            local = self._send_locks.setdefault(key, threading.Lock())
        with local:
            if self._conn is None:
                yield False
                return
            with self._mutex:
                self._conn.execute(
                    text("SELECT pg_advisory_lock(:ns, :key)"),
                    {"ns": self._ns(SEND_NS), "key": key},
                )
            try:
                yield True
            finally:
                with self._mutex:
                    self._conn.execute(
                        text("SELECT pg_advisory_unlock(:ns, :key)"),
                        {"ns": self._ns(SEND_NS), "key": key},
                    )
