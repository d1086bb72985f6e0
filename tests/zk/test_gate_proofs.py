"""End to end: proofs made in Python, checked natively and by snarkjs; every refusal case."""

from __future__ import annotations

import dataclasses
from typing import Any

import groth16py
import pytest

from fairgate.errors import ProofError
from zk.field import P
from zk.identity import TicketSecret
from zk.proof import GateProof, PublicSignals
from zk.prover import GateProver
from zk.snarkjs_node import SnarkjsNode
from zk.tree import root_from_path
from zk.verifier import GateVerifier

from .conftest import Event


def _snarkjs_ok(snarkjs: SnarkjsNode, vkey: dict[str, Any], proof: GateProof) -> bool:
    proof_json, public = proof.to_snarkjs()
    try:
        return snarkjs.verify(vkey, proof_json, public)
    except Exception:  # snarkjs throws on some malformed inputs: that is a refusal too
        return False


@pytest.fixture(scope="module")
def shared_event() -> Event:
    return Event(4)


@pytest.fixture(scope="module")
def valid(prover: GateProver, shared_event: Event, scope: int) -> GateProof:
    return prover.prove(
        shared_event.secrets[2], shared_event.tree.proof(2), scope, challenge=123456789
    )


def test_valid_proof_verifies_natively_and_with_snarkjs(
    valid: GateProof,
    verifier: GateVerifier,
    snarkjs: SnarkjsNode,
    vkey: dict[str, Any],
    shared_event: Event,
    scope: int,
) -> None:
    assert verifier.verify(valid)
    assert _snarkjs_ok(snarkjs, vkey, valid)
    nullifier = verifier.check(
        valid, scope=scope, challenge=123456789, roots={shared_event.tree.root}
    )
    assert nullifier == shared_event.secrets[2].nullifier(scope)
    assert GateProof.from_snarkjs(*valid.to_snarkjs()) == valid


def test_tampered_proof_is_refused(
    valid: GateProof, verifier: GateVerifier, snarkjs: SnarkjsNode, vkey: dict[str, Any]
) -> None:
    for position in (0, 31, 100, 255):
        data = bytearray(valid.proof)
        data[position] ^= 1
        tampered = GateProof(proof=bytes(data), public=valid.public)
        assert not verifier.verify(tampered)
        assert not _snarkjs_ok(snarkjs, vkey, tampered)


def test_every_public_signal_is_bound(
    valid: GateProof, verifier: GateVerifier, snarkjs: SnarkjsNode, vkey: dict[str, Any]
) -> None:
    for name in ("nullifier", "root", "scope", "challenge"):
        changed = dataclasses.replace(valid.public, **{name: getattr(valid.public, name) + 1})
        forged = GateProof(proof=valid.proof, public=changed)
        assert not verifier.verify(forged), name
        assert not _snarkjs_ok(snarkjs, vkey, forged), name


def test_proof_for_another_event_is_refused(
    valid: GateProof, verifier: GateVerifier, shared_event: Event, other_scope: int
) -> None:
    with pytest.raises(ProofError, match="another event"):
        verifier.check(
            valid, scope=other_scope, challenge=123456789, roots={shared_event.tree.root}
        )


def test_other_challenge_is_refused(
    valid: GateProof, verifier: GateVerifier, shared_event: Event, scope: int
) -> None:
    with pytest.raises(ProofError, match="challenge"):
        verifier.check(valid, scope=scope, challenge=1, roots={shared_event.tree.root})


def test_wrong_path_proves_another_root_which_the_gate_refuses(
    prover: GateProver, verifier: GateVerifier, event: Event, scope: int
) -> None:
    # A made-up path still gives a valid proof, for the root it leads to: only the root check
    # tells it apart. (Built by hand: the prover refuses paths that miss their root.)
    secret = TicketSecret.generate()  # not in the tree at all
    siblings = [0] * 20
    fake_root = root_from_path(secret.commitment(), 0, siblings)
    inputs = {
        "root": fake_root,
        "scope": scope,
        "challenge": 9,
        "secret": secret.reveal(),
        "leafIndex": 0,
        "siblings": siblings,
    }
    blob = groth16py.prove(prover._pk, inputs)
    proof = GateProof(bytes(blob), PublicSignals(secret.nullifier(scope), fake_root, scope, 9))
    assert verifier.verify(proof)
    with pytest.raises(ProofError, match="root"):
        verifier.check(proof, scope=scope, challenge=9, roots={event.tree.root})


def test_public_input_at_or_above_the_modulus_is_refused(
    valid: GateProof,
    verifier: GateVerifier,
    snarkjs: SnarkjsNode,
    vkey: dict[str, Any],
    shared_event: Event,
    scope: int,
) -> None:
    for name in ("nullifier", "root", "scope", "challenge"):
        value = getattr(valid.public, name)
        aliased = GateProof(valid.proof, dataclasses.replace(valid.public, **{name: value + P}))
        assert not verifier.verify(aliased), name
        assert not _snarkjs_ok(snarkjs, vkey, aliased), name
    at_p = GateProof(valid.proof, dataclasses.replace(valid.public, challenge=P))
    assert not verifier.verify(at_p)
    assert not _snarkjs_ok(snarkjs, vkey, at_p)
    with pytest.raises(ProofError):
        verifier.check(at_p, scope=scope, challenge=P, roots={shared_event.tree.root})


def test_two_tickets_of_one_holder_have_two_nullifiers(
    prover: GateProver, verifier: GateVerifier, event: Event, scope: int
) -> None:
    first = prover.prove(event.secrets[0], event.tree.proof(0), scope, challenge=3)
    second = prover.prove(event.secrets[1], event.tree.proof(1), scope, challenge=3)
    assert verifier.verify_many([first, second]) == [True, True]
    assert first.public.nullifier != second.public.nullifier
    again = prover.prove(event.secrets[0], event.tree.proof(0), scope, challenge=4)
    assert again.public.nullifier == first.public.nullifier  # one ticket, one entry


def test_resold_ticket_proves_with_the_buyer_only(
    prover: GateProver, verifier: GateVerifier, event: Event, scope: int
) -> None:
    seller = event.secrets[3]
    old_root, old_path = event.tree.root, event.tree.proof(3)
    buyer = TicketSecret.generate()
    event.tree.set(3, buyer.commitment())  # Resold(tokenId=3, ..., commitment=buyer's)
    new_root = event.tree.root

    proof = prover.prove(buyer, event.tree.proof(3), scope, challenge=11)
    assert verifier.check(proof, scope=scope, challenge=11, roots={new_root}) == buyer.nullifier(
        scope
    )
    assert buyer.nullifier(scope) != seller.nullifier(scope)

    with pytest.raises(ProofError):  # the seller's secret is no longer the leaf
        prover.prove(seller, event.tree.proof(3), scope, challenge=11)
    with pytest.raises(ProofError):  # nor can the old path reach the new root
        prover.prove(seller, dataclasses.replace(old_path, root=new_root), scope, challenge=11)
    stale = prover.prove(seller, old_path, scope, challenge=11)  # valid, but for the old root
    with pytest.raises(ProofError, match="root"):
        verifier.check(stale, scope=scope, challenge=11, roots={new_root})
    assert old_root != new_root


def test_verify_many_matches_verify(valid: GateProof, verifier: GateVerifier) -> None:
    bad = GateProof(valid.proof, dataclasses.replace(valid.public, challenge=1))
    batch = [valid, bad] * 4
    assert verifier.verify_many(batch) == [True, False] * 4
