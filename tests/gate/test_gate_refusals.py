"""Refusals by reason: gate devices count refused codes per minute and reason (counts only) and
push the cumulative counters to the hub, which keeps the largest value per device and bucket."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from gate.store import NullifierStore
from gate.sync import GateSync, HubClient, HubError

HubServer = Any  # tests/gate/conftest.py's HubServer
EVENT = "0x" + "ab" * 20
OTHER = "0x" + "cd" * 20


def _refusals(hub: HubServer, event: str = EVENT) -> list[dict[str, Any]]:
    answer = httpx.get(f"{hub.url}/gate/events/{event}/refusals", headers=hub.organizer)
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, Any]] = answer.json()["refusals"]
    return rows


def test_hub_refusals_authenticated_validated_and_retries_not_double_counted(
    hub: HubServer,
) -> None:
    key = hub.register(EVENT, "gate-A")
    client = HubClient(hub.url, key)
    counts = [
        {"reason": "nullifier_used", "minute": 29_000_000, "count": 3},
        {"reason": "code_expired", "minute": 29_000_000, "count": 1},
    ]
    assert client.push_refusals(EVENT, counts) == {"stored": 2}
    assert client.push_refusals(EVENT, counts) == {"stored": 2}  # a retry changes nothing
    lower = [{"reason": "nullifier_used", "minute": 29_000_000, "count": 2}]
    client.push_refusals(EVENT, lower)  # an older (smaller) counter does not lower the bucket
    assert _refusals(hub) == [
        {"gate_id": "gate-A", "minute": 29_000_000, "reason": "code_expired", "count": 1},
        {"gate_id": "gate-A", "minute": 29_000_000, "reason": "nullifier_used", "count": 3},
    ]
    client.push_refusals(EVENT, [{"reason": "nullifier_used", "minute": 29_000_000, "count": 5}])
    # a second device of the same gate counts on its own; the gate's total is their sum
    other_device = HubClient(hub.url, hub.register(EVENT, "gate-A"))
    other_device.push_refusals(
        EVENT, [{"reason": "nullifier_used", "minute": 29_000_000, "count": 4}]
    )
    assert [r["count"] for r in _refusals(hub) if r["reason"] == "nullifier_used"] == [9]

    with pytest.raises(HubError, match="401"):
        HubClient(hub.url, key[:-2] + "xx").push_refusals(EVENT, counts)
    hub.register(OTHER, "gate-A")  # another event at the bridge: this key is not one of its
    with pytest.raises(HubError, match="401"):
        client.push_refusals(OTHER, counts)
    assert httpx.get(f"{hub.url}/gate/events/{EVENT}/refusals").status_code == 401
    auth = {"Authorization": f"Bearer {key}"}
    for bad in (
        {"refusals": [{"reason": "bored", "minute": 1, "count": 1}]},  # not a checker code
        {"refusals": [{"reason": "admitted", "minute": 1, "count": 1}]},  # not a refusal
        {"refusals": [{"reason": "malformed", "minute": -1, "count": 1}]},
        {"refusals": [{"reason": "malformed", "minute": 1, "count": -2}]},
        {"refusals": [{"reason": "malformed", "minute": 1, "count": 1, "nullifier": "0x1"}]},
        {"refusals": "many"},
        {},
    ):
        answer = httpx.post(f"{hub.url}/gate/events/{EVENT}/refusals", json=bad, headers=auth)
        assert answer.status_code == 422, (bad, answer.text)
    assert (
        httpx.post(f"{hub.url}/gate/events/0x12/refusals", json={"refusals": []}, headers=auth)
    ).status_code == 422
    assert len(_refusals(hub)) == 2  # nothing of the refused bodies was stored
    client.close()
    other_device.close()


def test_gate_sync_pushes_refusal_counts_once_and_resumes_after_hub_outage(
    hub: HubServer, tmp_path: Path
) -> None:
    key = hub.register(EVENT, "gate-B")
    store = NullifierStore(tmp_path / "gate.db", gate_id="gate-B")
    client = HubClient(hub.url, key, timeout_s=1.0)
    sync = GateSync(store, client, EVENT)
    t = 60.0 * 29_000_100
    for reason, at in [("malformed", t), ("malformed", t + 5), ("root_superseded", t + 61)]:
        store.count_refusal(EVENT, reason, at)
    report = sync.sync_once()
    assert report.online and report.refusals == 2
    assert sync.sync_once().refusals == 0  # acknowledged counters are not sent again
    store.count_refusal(EVENT, "malformed", t + 10)
    hub.stop()
    assert not sync.sync_once().online
    assert store.refusal_counts(EVENT)[(29_000_100, "malformed")] == (3, 2)
    hub.start()
    assert sync.sync_once().refusals == 1
    assert _refusals(hub) == [
        {"gate_id": "gate-B", "minute": 29_000_100, "reason": "malformed", "count": 3},
        {"gate_id": "gate-B", "minute": 29_000_101, "reason": "root_superseded", "count": 1},
    ]
    store.count_refusal(EVENT, "code_ahead", t)  # counted in memory, stored at close
    client.close()
    store.close()
    with NullifierStore(tmp_path / "gate.db", gate_id="gate-B") as reopened:
        assert reopened.refusal_counts(EVENT)[(29_000_100, "code_ahead")] == (1, 0)
