"""The nullifier store: atomic admission, restarts, remote merge and conflicts."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from gate.store import CheckIn, NullifierStore, NullifierUsed

EVENT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def store(tmp_path: Path, gate: str = "A") -> NullifierStore:
    return NullifierStore(tmp_path / f"{gate}.sqlite3", gate_id=gate)


def test_same_nullifier_twice_is_refused_in_plain_words(tmp_path: Path) -> None:
    s = store(tmp_path)
    s.check_in(EVENT, 7, root=1, challenge=2, at=1_700_000_000)
    with pytest.raises(NullifierUsed) as info:
        s.check_in(EVENT, 7, root=1, challenge=3)
    assert str(info.value).startswith("already used at this gate at ")
    assert info.value.code == "nullifier_used"
    assert info.value.first.challenge == 2


def test_the_store_survives_a_restart(tmp_path: Path) -> None:
    s = store(tmp_path)
    s.check_in(EVENT, 7, root=1, challenge=2)
    s.close()
    again = store(tmp_path)
    with pytest.raises(NullifierUsed):
        again.check_in(EVENT.lower(), 7, root=1, challenge=2)
    assert again.count(EVENT) == 1


def test_concurrent_scanners_admit_a_ticket_once(tmp_path: Path) -> None:
    s = store(tmp_path)
    admitted: list[int] = []
    refused: list[int] = []
    barrier = threading.Barrier(8)

    def scan(i: int) -> None:
        barrier.wait()
        try:
            s.check_in(EVENT, 99, root=1, challenge=i)
            admitted.append(i)
        except NullifierUsed:
            refused.append(i)

    threads = [threading.Thread(target=scan, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(admitted) == 1 and len(refused) == 7


def test_remote_uses_refuse_locally_and_conflicts_keep_both(tmp_path: Path) -> None:
    s = store(tmp_path, "A")
    s.check_in(EVENT, 1, root=5, challenge=6, at=100.0)
    remote = [
        CheckIn(EVENT, 1, "B", 90.0, 5, 7, "hub"),  # conflict with A's use
        CheckIn(EVENT, 2, "B", 95.0, 5, 7, "hub"),  # new
        CheckIn(EVENT, 1, "B", 90.0, 5, 7, "hub"),  # the same remote use again
    ]
    assert s.apply_remote(EVENT, remote) == (1, 1)
    assert s.apply_remote(EVENT, remote) == (0, 0)  # idempotent
    with pytest.raises(NullifierUsed, match="already used at gate B at "):
        s.check_in(EVENT, 2, root=5, challenge=6)
    (conflict,) = s.conflicts(EVENT)
    assert conflict.nullifier == 1
    assert conflict.gates == ("B", "A")  # first use first
    assert [e.nullifier for e in s.unpushed(EVENT, 10)] == [1]  # hub rows are not pushed back


def test_anchoring_bookkeeping(tmp_path: Path) -> None:
    s = store(tmp_path)
    for n in range(5):
        s.check_in(EVENT, n + 1, root=1, challenge=1, at=float(n))
    assert s.unanchored(EVENT, 3) == [1, 2, 3]
    s.mark_anchored(EVENT, [1, 2], "0xabc")
    assert s.unanchored(EVENT, 10) == [3, 4, 5]
    assert s.anchored_count(EVENT) == 2


def test_normal_mode_flushes_the_wal_in_the_background(tmp_path: Path) -> None:
    s = NullifierStore(tmp_path / "A.sqlite3", gate_id="A", synchronous="NORMAL", flush_s=0.05)
    s.check_in(EVENT, 1, root=1, challenge=1)
    deadline = time.monotonic() + 5
    probe = sqlite3.connect(tmp_path / "A.sqlite3")
    while True:
        # (busy, frames in the WAL, frames checkpointed): all written frames are on the db file
        _busy, frames, done = probe.execute("PRAGMA wal_checkpoint(NOOP)").fetchone()
        if frames == done or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert frames == done
    probe.close()
    s.close()


def test_the_same_gate_id_at_another_time_is_a_conflict(tmp_path: Path) -> None:
    """Issue 9 item 9 on the device: a use learned from the hub with this device's own gate id
    but another admission time is another scanner's (configured alike): a conflict. The same
    use pulled back again changes nothing."""
    s = store(tmp_path, "gate-A")
    mine = s.check_in(EVENT, 9, root=1, challenge=2, at=100.0)
    assert s.apply_remote(EVENT, [mine]) == (0, 0)  # our own use, seen again
    twin = CheckIn(EVENT.lower(), 9, "gate-A", 160.5, 1, 3)
    assert s.apply_remote(EVENT, [twin]) == (0, 1)
    (conflict,) = s.conflicts(EVENT)
    assert sorted(e.checked_at for e in conflict.entries) == [100.0, 160.5]
    # a nullifier anchored on-chain (a copy of some gate's use) only fills a gap, never conflicts
    copy = CheckIn(EVENT.lower(), 9, "anchored", 170.0, 0, 0)
    assert s.apply_remote(EVENT, [copy], copies=True) == (0, 0)
    fresh = CheckIn(EVENT.lower(), 10, "anchored", 170.0, 0, 0)
    assert s.apply_remote(EVENT, [fresh], copies=True) == (1, 0)
    with pytest.raises(NullifierUsed, match="another gate \\(anchored on-chain\\)"):
        s.check_in(EVENT, 10, root=1, challenge=2)
