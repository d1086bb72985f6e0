"""The on-chain path: the snarkjs-exported verifier deployed, plugged in, and checkIn used."""

from __future__ import annotations

from typing import Any

import pytest

from chain.errors import error_class
from gate.onchain import check_in_onchain, deploy_verifier, verifier_artifact, verify_onchain
from zk import payload

EventWorld = Any  # tests/gate/conftest.py's EventWorld


def test_onchain_check_in_with_the_exported_verifier(new_world: type[EventWorld]) -> None:
    world = new_world(600)
    world.mint("alice", 2)
    world.publish()
    artifact = verifier_artifact()
    assert artifact.name == "Groth16Verifier"
    verifier = deploy_verifier(world.platform.senders["organizer"])
    world.gate_as("organizer").set_verifier(verifier)
    gate = world.gate_as("gate")
    tree = world.tree()
    proof = payload.decode(world.prove(0, 424242, tree=tree))

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
    other = payload.decode(world.prove(1, 7, tree=tree))
    gate.anchor_check_ins([other.public.nullifier])
    with pytest.raises(error_class("NullifierUsed")):
        check_in_onchain(gate, other)
