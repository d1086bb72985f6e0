"""The on-chain path: the snarkjs-exported verifier deployed, plugged in, and checkIn used."""

from __future__ import annotations

from typing import Any

import pytest

from chain.errors import error_class
from gate.onchain import check_in_onchain, deploy_verifier, verifier_artifact, verify_onchain
from zk import payload
from zk.identity import time_window

EventWorld = Any  # tests/gate/conftest.py's EventWorld
OpenGate = Any  # tests/gate/conftest.py's open_gate


def _window_challenge(world: EventWorld) -> int:
    """The rotating challenge of the chain's current 20-second window (what checkIn takes)."""
    now = int(world.platform.w3.eth.get_block("latest")["timestamp"])
    return int(world.gate_as("gate").window_challenge(time_window(now)))


def test_onchain_check_in_with_the_exported_verifier(
    new_world: type[EventWorld], open_gate: OpenGate
) -> None:
    world = new_world(600)
    world.mint("alice", 3)
    world.publish()
    door = open_gate(world, "gate-A")  # an online gate device, synced now
    artifact = verifier_artifact()
    assert artifact.name == "Groth16Verifier"
    verifier = deploy_verifier(world.platform.senders["organizer"])
    world.gate_as("organizer").set_verifier(verifier)
    gate = world.gate_as("gate")
    tree = world.tree()
    # a proof answering any other challenge (a code made earlier) is refused on-chain
    stale = payload.decode(world.prove(2, 424242, tree=tree))
    with pytest.raises(error_class("StaleChallenge")):
        check_in_onchain(gate, stale)
    proof = payload.decode(world.prove(0, _window_challenge(world), tree=tree))

    # (each pairing costs Ganache seconds: the refusal of a tampered proof by the exported
    # verifier is zk's test; here the path through the TicketGate contract is what is checked)
    result = check_in_onchain(gate, proof)
    checked = result.first("CheckedIn").args
    assert int.from_bytes(checked["nullifier"], "big") == proof.public.nullifier
    assert 200_000 < result.gas_used < 400_000
    assert gate.nullifier_used(proof.public.nullifier)

    with pytest.raises(error_class("NullifierUsed")):
        check_in_onchain(gate, proof)  # a replayed proof (or the same ticket again)
    assert not verify_onchain(gate, proof)

    # a ticket anchored after entering off-chain cannot enter on-chain either
    other = payload.decode(world.prove(1, _window_challenge(world), tree=tree))
    gate.anchor_check_ins([other.public.nullifier])
    with pytest.raises(error_class("NullifierUsed")):
        check_in_onchain(gate, other)

    # and the online gate learns both at its next sync: the ticket that entered on-chain, and
    # the one anchored by another gate, are refused at this door too
    assert door.roots.sync()
    challenge = door.challenges.current().challenge
    entered = door.check(world.prove(0, challenge, tree=tree))
    assert (entered.admitted, entered.code) == (False, "nullifier_used")
    assert entered.reason.startswith("already used at the on-chain entrance at ")
    anchored = door.check(world.prove(1, challenge, tree=tree))
    assert (anchored.admitted, anchored.code) == (False, "nullifier_used")
    assert "another gate (anchored on-chain)" in anchored.reason
    assert door.check(world.prove(2, challenge, tree=tree)).admitted  # the third never entered
