"""Anchoring used nullifiers on-chain after doors: batches, resumable, nothing twice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gate.anchor import Anchorer
from gate.service import GateService
from gate.store import CheckIn

EventWorld = Any  # tests/gate/conftest.py's EventWorld
OpenGate = Callable[..., GateService]


def test_anchoring_writes_the_nullifiers_and_a_rerun_anchors_nothing_twice(
    new_world: type[EventWorld], open_gate: OpenGate
) -> None:
    world = new_world(600)
    gate = open_gate(world, "gate-A")  # settings: gate_anchor_batch = 2
    event = world.address
    # five used nullifiers: three admitted here, two learned from another gate through the hub
    nullifiers = [101, 102, 103, 104, 105]
    for n in nullifiers[:3]:
        gate.store.check_in(event, n, root=1, challenge=2)
    gate.store.apply_remote(
        event, [CheckIn(event.lower(), n, "gate-B", 1.0, 1, 2) for n in nullifiers[3:]]
    )
    # another device already anchored one of them (or this one crashed after sending)
    world.gate_as("gate").anchor_check_ins([nullifiers[1]])

    report = gate.anchor()
    assert report.already_on_chain == 1
    assert report.anchored == 4
    assert len(report.transactions) == 2  # batches of two
    assert all(world.gate_as("gate").nullifier_used(n) for n in nullifiers)
    logged = world.gate_as("gate").events(names=["CheckInsAnchored"])
    anchored = [int.from_bytes(n, "big") for e in logged for n in e.args["nullifiers"]]
    assert sorted(anchored) == sorted(nullifiers)  # each exactly once (1 by the other device)

    again = gate.anchor()
    assert (again.anchored, again.already_on_chain, again.transactions) == (0, 0, [])
    # a new admission after the run is anchored by the next run, alone
    gate.store.check_in(event, 106, root=1, challenge=2)
    assert Anchorer(gate.store, world.gate_as("gate"), event, batch_size=10).run().anchored == 1
