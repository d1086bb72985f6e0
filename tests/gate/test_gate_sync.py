"""Gates syncing through the hub over real HTTP (uvicorn): offline backlog, conflicts, auth."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from gate.service import GateService
from gate.store import CheckIn, hex32
from gate.sync import HubClient, HubError

EventWorld = Any  # tests/gate/conftest.py's EventWorld
HubServer = Any
OpenGate = Callable[..., GateService]


@pytest.fixture(scope="module")
def world(new_world: type[EventWorld]) -> EventWorld:
    w = new_world(600)
    w.mint("alice", 3)
    w.mint("bob", 3)
    w.publish()
    return w


def test_hub_authenticates_gates_and_pushes_are_idempotent(
    world: EventWorld, new_world: type[EventWorld], hub: HubServer
) -> None:
    key = hub.register(world.address, "gate-A")
    client = HubClient(hub.url, key)
    entry = CheckIn(world.address.lower(), 11, "ignored", 1000.0, 5, 6)
    assert client.push(world.address, [entry]) == {"accepted": 1, "duplicates": 0, "conflicts": []}
    assert client.push(world.address, [entry]) == {"accepted": 0, "duplicates": 1, "conflicts": []}
    pulled = client.pull(world.address, 0, 10)
    assert pulled["checkins"] == [] and pulled["cursor"] >= 1  # one's own rows are not sent back

    with pytest.raises(HubError, match="401"):
        HubClient(hub.url, key[:-2] + "xx").pull(world.address, 0, 10)
    other = new_world(600).address
    hub.register(other, "gate-A")  # another event at the bridge: this key is not one of its
    with pytest.raises(HubError, match="401"):
        client.pull(other, 0, 10)
    hub.register(world.address, "gate-B")
    http = httpx.Client(base_url=hub.url)
    assert http.get(f"/gate/events/{world.address}/conflicts").status_code == 401
    organizer = http.get(f"/gate/events/{world.address}/conflicts", headers=hub.organizer)
    assert organizer.status_code == 200 and organizer.json() == {"conflicts": []}
    bad = http.post(
        f"/gate/events/{world.address}/checkins",
        json={"checkins": [{"nullifier": "0x12", "checked_at": 1, "root": "x", "challenge": "y"}]},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert bad.status_code == 422
    client.close()


def test_offline_gate_keeps_admitting_then_syncs_without_loss(
    world: EventWorld, hub: HubServer, open_gate: OpenGate, tmp_path: Any
) -> None:
    key_a, key_b = hub.register(world.address, "gate-A"), hub.register(world.address, "gate-B")
    online = open_gate(world, "gate-A", folder=tmp_path / "A")  # syncs roots, caches them
    online.close()
    hub.stop()  # the venue's network is down; the gate boots without chain or hub
    gate_a = open_gate(
        world, "gate-A", online=False, hub_url=hub.url, api_key=key_a, folder=tmp_path / "A"
    )
    assert gate_a.roots.client is None
    assert "1 ticket list(s) accepted, synced" in gate_a.roots.describe()
    challenge = gate_a.challenges.current().challenge
    tree = world.tree()
    results = [gate_a.check(world.prove(t, challenge, tree=tree)) for t in (0, 3, 4)]
    assert [r.code for r in results] == ["admitted"] * 3

    report = gate_a.sync()
    assert report is not None and not report.online
    assert len(gate_a.store.unpushed(world.address, 10)) == 3  # the backlog is kept

    hub.start()
    report = gate_a.sync()
    assert report is not None and report.online and report.pushed == 3
    assert gate_a.store.unpushed(world.address, 10) == []

    gate_b = open_gate(world, "gate-B", hub_url=hub.url, api_key=key_b, folder=tmp_path / "B")
    report = gate_b.sync()
    assert report is not None and (report.pulled, report.new_conflicts) == (3, 0)
    code = world.prove(3, gate_b.challenges.current().challenge, tree=tree)
    refused = gate_b.check(code)
    assert refused.code == "nullifier_used"
    used = gate_b.store.lookup(world.address, refused.nullifier or 0)
    assert used is not None and used.gate_id == "gate-A" and used.source == "hub"
    hhmm = time.strftime("%H:%M", time.localtime(used.checked_at))
    assert refused.reason == f"already used at gate-A at {hhmm}"
    # nothing new either way but the refusal counter (counts only: nullifier_used, this minute)
    assert gate_b.sync() == type(report)(online=True, refusals=1)
    minute = int(time.time() // 60)
    assert gate_b.store.refusal_counts(world.address) in (
        {(minute, "nullifier_used"): (1, 1)},
        {(minute - 1, "nullifier_used"): (1, 1)},  # the minute turned since the refusal
    )
    assert gate_b.sync() == type(report)(online=True)  # pushed counters are not pushed again


def test_same_ticket_at_two_offline_gates_is_a_conflict_on_both(
    world: EventWorld, hub: HubServer, open_gate: OpenGate
) -> None:
    key_a, key_b = hub.register(world.address, "gate-A"), hub.register(world.address, "gate-B")
    gate_a = open_gate(world, "gate-A", hub_url=hub.url, api_key=key_a)
    gate_b = open_gate(world, "gate-B", hub_url=hub.url, api_key=key_b)
    hub.stop()
    tree = world.tree()
    # the holder (or whoever copied the ticket's secret) proves at both gates while offline
    at_a = gate_a.check(world.prove(5, gate_a.challenges.current().challenge, tree=tree))
    at_b = gate_b.check(world.prove(5, gate_b.challenges.current().challenge, tree=tree))
    assert at_a.admitted and at_b.admitted and at_a.nullifier == at_b.nullifier
    assert not gate_a.sync().online  # type: ignore[union-attr]

    hub.start()
    ra, rb = gate_a.sync(), gate_b.sync()
    assert ra is not None and rb is not None
    assert (ra.pushed, rb.pushed) == (1, 1)
    assert rb.new_conflicts == 1  # B pulled A's use of its nullifier
    ra = gate_a.sync()
    assert ra is not None and ra.new_conflicts == 1

    for gate in (gate_a, gate_b):
        (conflict,) = gate.store.conflicts(world.address)
        assert conflict.nullifier == at_a.nullifier
        assert sorted(conflict.gates) == ["gate-A", "gate-B"]

    seen = httpx.get(
        f"{hub.url}/gate/events/{world.address}/conflicts", headers=hub.organizer
    ).json()
    (entry,) = seen["conflicts"]
    assert entry["nullifier"] == hex32(at_a.nullifier or 0)
    assert sorted(e["gate_id"] for e in entry["entries"]) == ["gate-A", "gate-B"]
    assert all(e["conflict"] for e in entry["entries"])


def test_background_sync_runs_beside_the_door(
    world: EventWorld, hub: HubServer, open_gate: OpenGate
) -> None:
    key_a, key_b = hub.register(world.address, "gate-A"), hub.register(world.address, "gate-B")
    gate_a = open_gate(world, "gate-A", hub_url=hub.url, api_key=key_a)
    gate_b = open_gate(world, "gate-B", hub_url=hub.url, api_key=key_b)
    stop = gate_b.sync_in_background(every_s=0.05)
    try:
        gate_a.store.check_in(world.address, 4242, root=1, challenge=1)
        gate_a.sync()
        deadline = time.monotonic() + 10
        while gate_b.store.lookup(world.address, 4242) is None:
            assert time.monotonic() < deadline, "gate B never pulled gate A's check-in"
            time.sleep(0.02)
    finally:
        stop.set()
    assert gate_b.store.lookup(world.address, 4242).gate_id == "gate-A"  # type: ignore[union-attr]
