"""Root judgement offline: grace in chain time, chain refusals, changes of hands, the cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fairgate.errors import ConfigError
from gate.roots import RootCache, RootExpired, RootRecord, RootSnapshot, RootSuperseded, RootUnknown
from zk.identity import gate_scope

EVENT = "0x5fbdb2315678afecb367f032d93f642f64180aa3"
CHAIN = 1337


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def write_cache(path: Path, **changes: object) -> None:
    snapshot = RootSnapshot(
        chain_id=CHAIN,
        event=EVENT,
        scope=gate_scope(CHAIN, EVENT),
        grace_s=100,
        roots={
            1: RootRecord(1, published_at=1_000, replaced_at=2_000, published_pos=(10, 0)),
            2: RootRecord(2, published_at=2_000, replaced_at=3_000, published_pos=(20, 0)),
            3: RootRecord(3, published_at=3_000, replaced_at=0, published_pos=(30, 0)),
            4: RootRecord(4, 500, 2_990, chain_refused=True, published_pos=(5, 0)),
        },
        current=3,
        chain_time=3_050,  # the chain's clock at the last sync ...
        block_number=30,
        synced_at=50_000.0,  # ... while the gate's wall clock said this
        **changes,  # type: ignore[arg-type]
    )
    path.write_text(json.dumps(snapshot.to_json()))


def cache(path: Path, clock: Clock, grace_s: int = 100) -> RootCache:
    return RootCache(path, event=EVENT, chain_id=CHAIN, grace_s=grace_s, clock=clock)


def test_offline_judgement_counts_grace_in_chain_time(tmp_path: Path) -> None:
    write_cache(tmp_path / "roots.json")
    clock = Clock(50_010.0)  # 10 s after the sync: the chain is at ~3,060
    roots = cache(tmp_path / "roots.json", clock)
    assert roots.chain_now() == 3_060
    assert roots.staleness_s() == 10
    assert roots.accepted() == {2, 3}  # 1 expired at 2,100; 4 refused by the chain
    roots.check(2)
    with pytest.raises(RootExpired):
        roots.check(1)
    with pytest.raises(RootExpired):
        roots.check(4)
    with pytest.raises(RootUnknown, match="not recognised"):
        roots.check(5)
    clock.now += 41  # chain ~3,101: root 2's grace (until 3,100) is over, offline too
    assert roots.accepted() == {3}
    clock.now = 0.0  # a wall clock set backwards never rewinds below the synced block time
    assert roots.chain_now() == 3_050
    assert "synced" in roots.describe()


def test_a_change_of_hands_ends_the_grace_of_older_roots(tmp_path: Path) -> None:
    write_cache(tmp_path / "roots.json", last_removal=(25, 3))  # a resale between 2 and 3
    roots = cache(tmp_path / "roots.json", Clock(50_000.0))
    with pytest.raises(RootSuperseded, match="changed hands"):
        roots.check(2)
    assert roots.accepted() == {3}  # the current root is kept (liveness) ...
    assert not roots.publication_due()  # ... and was published after the resale
    write_cache(tmp_path / "roots.json", last_removal=(31, 0))
    later = cache(tmp_path / "roots.json", Clock(50_000.0))
    assert later.accepted() == {3} and later.publication_due()


def test_cache_of_another_event_is_refused_and_a_broken_one_starts_empty(tmp_path: Path) -> None:
    write_cache(tmp_path / "roots.json")
    with pytest.raises(ConfigError):
        RootCache(
            tmp_path / "roots.json",
            event="0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
            chain_id=CHAIN,
            grace_s=100,
        )
    (tmp_path / "broken.json").write_text("{not json")
    empty = cache(tmp_path / "broken.json", Clock(1.0))
    assert empty.accepted() == set() and empty.staleness_s() is None
    assert empty.describe() == "ticket lists never synced"
    assert not empty.sync()  # no chain client: offline
    with pytest.raises(RootUnknown):
        empty.check(3)
