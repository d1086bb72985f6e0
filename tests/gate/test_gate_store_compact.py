"""The compact nullifier store (schema version 2): blobs, values kept once, queues instead of
indexes, a bounded WAL, set-wise merges, and the conversion of a first-format file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from fairgate.errors import ConfigError
from gate.store import (
    SCHEMA_VERSION,
    WAL_LIMIT_BYTES,
    CheckIn,
    NullifierStore,
    NullifierUsed,
)
from gate.store_migration import LEGACY_SCHEMA

EVENT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
OTHER = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
BIG = 2**255 + 12345  # a value whose hex text would be 66 characters


def hx(value: int) -> str:
    return f"0x{value:064x}"


def test_values_are_32_byte_blobs_and_repeats_are_stored_once(tmp_path: Path) -> None:
    path = tmp_path / "A.sqlite3"
    with NullifierStore(path, gate_id="A", synchronous="FULL") as s:
        for i in range(50):
            s.check_in(EVENT, BIG + i, root=BIG, challenge=BIG - 1, at=float(i))
        s.apply_remote(EVENT, [CheckIn(EVENT, 7 + i, "B", 1.0, BIG, 3, "hub") for i in range(50)])
    db = sqlite3.connect(path)
    kinds = db.execute("SELECT DISTINCT typeof(nullifier), length(nullifier) FROM checkins")
    assert kinds.fetchall() == [("blob", 32)]
    assert db.execute("SELECT count(*) FROM event_ids").fetchone() == (1,)
    assert db.execute("SELECT count(*) FROM root_ids").fetchone() == (1,)
    assert db.execute("SELECT count(*) FROM gate_ids").fetchone() == (2,)
    # no secondary index over the rows: the primary key is the table
    indexes = db.execute("PRAGMA index_list(checkins)").fetchall()
    assert [(name, origin) for _, name, _, origin, _ in indexes] == [
        ("sqlite_autoindex_checkins_1", "pk")  # a WITHOUT ROWID table's own key, not extra
    ]
    assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    db.close()
    with NullifierStore(path, gate_id="A") as again:
        first = again.lookup(EVENT, BIG + 3)
        assert first is not None and (first.root, first.challenge) == (BIG, BIG - 1)
        assert again.lookup(OTHER, BIG + 3) is None and again.count(OTHER) == 0


def test_queues_give_the_backlogs_in_order_and_drop_done_work(tmp_path: Path) -> None:
    with NullifierStore(tmp_path / "A.sqlite3", gate_id="A") as s:
        for n in range(1, 8):
            s.check_in(EVENT, n, root=1, challenge=1, at=float(n))
        s.apply_remote(EVENT, [CheckIn(EVENT, 100, "B", 0.5, 1, 1, "hub")])
        assert s.unanchored(EVENT, 3) == [1, 2, 3]
        s.mark_anchored(EVENT, [2, 100, 5], "0xabc")
        s.mark_anchored(EVENT, [6], None)  # found already on-chain
        assert s.unanchored(EVENT, 10) == [1, 3, 4, 7]
        assert s.anchored_count(EVENT) == 4
        s.mark_pushed(EVENT, [1, 3])
        assert [e.nullifier for e in s.unpushed(EVENT, 2)] == [2, 4]
        assert [e.nullifier for e in s.unpushed(EVENT, 10)] == [2, 4, 5, 6, 7]
        s.mark_pushed(EVENT, range(1, 8))
        assert s.unpushed(EVENT, 10) == []
        db = sqlite3.connect(tmp_path / "A.sqlite3")
        assert db.execute("SELECT count(*) FROM push_queue").fetchone() == (0,)
        db.close()


def test_a_merge_batch_with_one_nullifier_twice_is_a_conflict_and_idempotent(
    tmp_path: Path,
) -> None:
    with NullifierStore(tmp_path / "A.sqlite3", gate_id="A") as s:
        batch = [
            CheckIn(EVENT, 5, "B", 1.0, 1, 1, "hub"),
            CheckIn(EVENT, 5, "C", 2.0, 1, 2, "hub"),
            CheckIn(EVENT, 6, "B", 3.0, 1, 1, "hub"),
            CheckIn(EVENT, 5, "B", 1.0, 1, 1, "hub"),  # the first use again
        ]
        assert s.apply_remote(EVENT, batch) == (2, 1)
        assert s.apply_remote(EVENT, batch) == (0, 0)
        assert s.apply_remote(EVENT, []) == (0, 0)
        (conflict,) = s.conflicts(EVENT)
        assert conflict.nullifier == 5 and conflict.gates == ("B", "C")
        with pytest.raises(NullifierUsed, match="gate B"):
            s.check_in(EVENT, 6, root=1, challenge=1)


def test_the_wal_stays_bounded_through_large_merges(tmp_path: Path) -> None:
    path = tmp_path / "A.sqlite3"
    with NullifierStore(path, gate_id="A", synchronous="FULL") as s:
        (limit,) = s._db.execute("PRAGMA journal_size_limit").fetchone()
        assert limit == WAL_LIMIT_BYTES
        wal = Path(str(path) + "-wal")
        largest = 0
        for start in range(0, 30_000, 500):
            s.apply_remote(
                EVENT,
                [CheckIn(EVENT, BIG + i * 7919, f"g{i % 5}", 1.0, 1, i // 100, "hub")
                 for i in range(start, start + 500)],
            )  # fmt: skip
            largest = max(largest, wal.stat().st_size)
        assert s.count(EVENT) == 30_000
    assert largest <= WAL_LIMIT_BYTES + 2**20
    assert not wal.exists() or wal.stat().st_size == 0  # closed: checkpointed and truncated


def _legacy_file(path: Path) -> None:
    db = sqlite3.connect(path)
    db.executescript(LEGACY_SCHEMA)
    rows = [
        # event, nullifier, gate, at, root, challenge, source, pushed, anchored, anchor_tx
        (EVENT.lower(), hx(BIG), "A", 10.0, hx(11), hx(21), "local", 1, 1, "0xfeed"),
        (EVENT.lower(), hx(2), "A", 12.0, hx(11), hx(22), "local", 0, 0, None),
        (EVENT.lower(), hx(3), "A", 11.0, hx(11), hx(22), "local", 1, 0, None),
        (EVENT.lower(), hx(4), "B", 9.0, hx(12), hx(23), "hub", 1, 0, None),
        (OTHER.lower(), hx(2), "A", 13.0, hx(13), hx(24), "local", 0, 0, None),
    ]
    db.executemany("INSERT INTO checkins VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    db.execute(
        "INSERT INTO other_uses VALUES (?, ?, ?, ?, ?, ?)",
        (EVENT.lower(), hx(4), "C", 8.0, hx(12), hx(25)),
    )
    db.execute("INSERT INTO state VALUES (?, ?, ?)", (EVENT.lower(), "hub_cursor", "42"))
    # the challenge book shares the file and keeps its own table
    db.execute("CREATE TABLE challenges (event TEXT, gate_id TEXT, challenge TEXT)")
    db.commit()
    db.close()


def test_a_first_format_store_is_converted_with_all_its_bookkeeping(tmp_path: Path) -> None:
    path = tmp_path / "A.sqlite3"
    _legacy_file(path)
    with NullifierStore(path, gate_id="A") as s:
        first = s.lookup(EVENT, BIG)
        assert first is not None
        assert (first.gate_id, first.checked_at, first.root, first.challenge, first.source) == (
            "A", 10.0, 11, 21, "local",
        )  # fmt: skip
        hub = s.lookup(EVENT, 4)
        assert hub is not None and hub.source == "hub" and hub.gate_id == "B"
        assert s.count(EVENT) == 4 and s.count(OTHER) == 1
        assert [e.nullifier for e in s.unpushed(EVENT, 10)] == [2]
        assert [e.nullifier for e in s.unpushed(OTHER, 10)] == [2]
        assert s.unanchored(EVENT, 10) == [4, 3, 2]  # the old order: checked_at
        assert s.anchored_count(EVENT) == 1
        (conflict,) = s.conflicts(EVENT)
        assert conflict.nullifier == 4 and conflict.gates == ("C", "B")
        assert s.get_state(EVENT, "hub_cursor") == "42"
        with pytest.raises(NullifierUsed):
            s.check_in(EVENT, 3, root=11, challenge=22)
        s.check_in(EVENT, 99, root=11, challenge=22)
    db = sqlite3.connect(path)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert not {t for t in tables if t.startswith("legacy_")}
    assert "challenges" in tables  # the challenge book's table is left alone
    assert db.execute("SELECT anchor FROM checkins WHERE flags & 4").fetchall() == [(1,)]
    db.close()
    with NullifierStore(path, gate_id="A") as again:  # opened again: nothing converted twice
        assert again.count(EVENT) == 5


def test_a_store_of_a_newer_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "A.sqlite3"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(ConfigError, match="schema version"):
        NullifierStore(path, gate_id="A")
