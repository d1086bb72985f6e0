"""The gate's verify pipeline end to end: real events on Ganache, real Groth16 proofs.

Proofs cost ~0.5 s each, so one module-scoped event (``world``) with a few tickets serves the
tests that do not move the chain's clock; the resale test makes its own event.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from chain.devchain import increase_time
from fairgate.errors import ProofError
from gate.service import GateService
from zk import payload
from zk.identity import window_challenge
from zk.proof import GateProof
from zk.tree import MerkleTree

EventWorld = Any  # tests/gate/conftest.py's EventWorld (conftest modules are not importable)
OpenGate = Callable[..., GateService]


@pytest.fixture(scope="module")
def world(new_world: type[EventWorld]) -> EventWorld:
    w = new_world(600)
    w.mint("alice", 2)  # tokens 0, 1: one holder, two tickets
    w.mint("bob", 2)  # tokens 2, 3
    w.publish()
    return w


def test_valid_proof_is_admitted_and_the_same_ticket_is_refused_after(
    world: EventWorld, open_gate: OpenGate
) -> None:
    gate = open_gate(world, "gate-A")
    challenge = gate.challenges.current().challenge
    code = world.prove(2, challenge)
    first = gate.check(code)
    assert (first.admitted, first.code, first.reason) == (True, "admitted", "admitted")
    assert first.nullifier == world.secrets[2].nullifier(world.scope)

    again = gate.check(code)
    assert not again.admitted and again.code == "nullifier_used"
    used = gate.store.lookup(world.address, first.nullifier or 0)
    assert used is not None
    assert (
        again.reason
        == f"already used at this gate at {time.strftime('%H:%M', time.localtime(used.checked_at))}"
    )

    # a fresh proof of the same ticket (another challenge) has the same nullifier: refused
    fresh = world.prove(2, gate.challenges.issue().challenge)
    assert gate.check(fresh).code == "nullifier_used"


def test_two_tickets_of_one_holder_enter_twice(world: EventWorld, open_gate: OpenGate) -> None:
    gate = open_gate(world, "gate-A")
    challenge = gate.challenges.current().challenge
    tree = world.tree()
    results = [gate.check(world.prove(t, challenge, tree=tree)) for t in (0, 1)]
    assert [r.code for r in results] == ["admitted", "admitted"]
    assert results[0].nullifier != results[1].nullifier


def test_a_proof_made_for_one_gate_is_refused_at_another(
    world: EventWorld, open_gate: OpenGate
) -> None:
    gate_a, gate_b = open_gate(world, "gate-A"), open_gate(world, "gate-B")
    code = world.prove(3, gate_a.challenges.current().challenge)
    at_b = gate_b.check(code)
    assert (at_b.admitted, at_b.code) == (False, "challenge_unknown")
    assert at_b.reason == "challenge not issued by this gate"
    assert gate_b.store.lookup(world.address, at_b.nullifier or 0) is None  # nothing recorded

    gate_a.challenges.clock = lambda: time.time() + 121  # the challenge's 120 s are over
    late = gate_a.check(code)
    assert (late.code, late.reason) == ("challenge_expired", "challenge expired")

    gate_a.challenges.clock = time.time
    assert gate_a.check(code).admitted  # refusals recorded nothing: in time, it enters


def test_a_rotating_window_code_is_admitted_and_an_old_window_code_is_expired(
    world: EventWorld, open_gate: OpenGate
) -> None:
    gate = open_gate(world, "gate-W")
    window, challenge = gate.challenges.window_card()
    assert challenge == window_challenge(world.scope, window)
    # a screenshot of the code the phone showed a minute ago (three windows back)
    old = gate.check(world.prove(1, window_challenge(world.scope, window - 3)))
    assert (old.admitted, old.code) == (False, "code_expired")
    assert old.reason.startswith("code expired (its time window ended at ")
    assert gate.store.count(world.address) == 0  # nothing recorded
    live = gate.check(world.prove(1, challenge))  # the live code, no card scanned first
    assert (live.admitted, live.code) == (True, "admitted")


def test_a_root_never_published_is_refused(world: EventWorld, open_gate: OpenGate) -> None:
    gate = open_gate(world, "gate-A")
    # the holder's app uses a tree with an extra leaf the organizer never published
    leaves = world.tree().leaves()
    forged = MerkleTree.from_leaves([*leaves, world.secrets[0].commitment()])
    code = world.prove(0, gate.challenges.current().challenge, tree=forged)
    result = gate.check(code)
    assert (result.code, result.reason) == (
        "root_unknown",
        "ticket list not recognised here (root never published for this event)",
    )


def test_a_proof_for_another_event_is_refused(
    world: EventWorld, new_world: type[EventWorld], open_gate: OpenGate
) -> None:
    other = new_world(600)
    (token,) = other.mint("alice", 1)
    other.publish()
    gate = open_gate(world, "gate-A")
    code = other.prove(token, gate.challenges.current().challenge)
    result = gate.check(code)
    assert (result.code, result.reason) == ("wrong_event", "ticket not valid for this event")


def test_tampered_proofs_are_refused(world: EventWorld, open_gate: OpenGate) -> None:
    gate = open_gate(world, "gate-A")
    code = world.prove(1, gate.challenges.issue().challenge)
    proof = payload.decode(code)
    words = proof.words()
    bent = GateProof(
        proof=b"".join(w.to_bytes(32, "big") for w in [words[0], words[1] ^ 1, *words[2:]]),
        public=proof.public,
    )
    result = gate.check(payload.encode(bent))
    assert (result.code, result.reason) == ("proof_invalid", "proof invalid")
    # a changed public signal (another nullifier) breaks the proof too
    other = GateProof(
        proof=proof.proof,
        public=type(proof.public)(
            proof.public.nullifier ^ 1,
            proof.public.root,
            proof.public.scope,
            proof.public.challenge,
        ),
    )
    assert gate.check(payload.encode(other)).code == "proof_invalid"
    assert gate.store.lookup(world.address, proof.public.nullifier) is None


@pytest.mark.parametrize(
    ("scanned", "detail"),
    [
        ("hello", "not a Fairgate v1 gate payload"),
        ("FG1:" + "0" * 30, "payload has the wrong size"),
        (b"\xff\xfe", "payload is not ASCII"),
        ("FG1:abc", "payload has a character outside base45"),
    ],
)
def test_malformed_payloads_are_refused_plainly(
    world: EventWorld, open_gate: OpenGate, scanned: str | bytes, detail: str
) -> None:
    gate = open_gate(world, "gate-A", online=False)
    result = gate.check(scanned)
    assert (result.admitted, result.code) == (False, "malformed")
    assert result.reason == f"unreadable code: {detail}"


def test_grace_window_and_a_resold_ticket_entering_once(
    new_world: type[EventWorld], open_gate: OpenGate
) -> None:
    w = new_world(300)
    alice = w.mint("alice", 1)[0]
    bob_1, bob_2 = w.mint("bob", 2)
    root_1 = w.publish()
    gate = open_gate(w, "gate-A")
    challenge = gate.challenges.current().challenge
    tree_1 = w.tree()
    bob_1_code, bob_2_code = (w.prove(t, challenge, tree=tree_1) for t in (bob_1, bob_2))

    # new tickets only: root_1 stays acceptable for its grace period (its members are all
    # still members), so a proof made just before the change still enters
    w.mint("dave", 1)
    root_2 = w.publish()
    assert gate.roots.sync() and gate.roots.accepted() == {root_1, root_2}
    assert gate.check(bob_1_code).admitted

    increase_time(w.platform.w3, 301)  # root_1's grace period is over
    assert gate.roots.sync() and gate.roots.accepted() == {root_2}
    assert not w.gate_as("gate").is_accepted_root(root_1)
    stale = gate.check(bob_2_code)
    assert (stale.code, stale.reason) == (
        "root_expired",
        "ticket list out of date (root replaced longer ago than the grace period)",
    )

    # a resale: the seller keeps a proof made against root_2 before selling
    alice_secret = w.secrets[alice]
    seller_code = w.prove(alice, challenge)
    carol_secret = w.resell(alice, "alice", "carol")
    assert gate.roots.sync() and gate.roots.publication_due()
    assert "changed hands" in gate.roots.describe()
    root_3 = w.publish()
    assert gate.roots.sync() and not gate.roots.publication_due()
    # root_2 was replaced seconds ago, within its grace, but a ticket changed hands after it
    # was published: the gate contract refuses it at once (no retirement needed), and so does
    # the gate
    assert not w.gate_as("gate").is_accepted_root(root_2)
    assert gate.roots.accepted() == {root_3}
    refused = gate.check(seller_code)
    assert (refused.code, refused.reason) == (
        "root_superseded",
        "ticket list out of date (replaced after tickets changed hands: refresh the ticket)",
    )
    # and the seller's secret is gone from the current tree: no proof against root_3 exists
    with pytest.raises(ProofError, match="not the ticket's current commitment"):
        w.prove(alice, challenge, secret=alice_secret)

    buyer_code = w.prove(alice, challenge, secret=carol_secret)
    assert gate.check(buyer_code).admitted
    assert gate.check(buyer_code).code == "nullifier_used"  # the ticket enters once
    assert gate.check(w.prove(bob_2, challenge)).admitted  # holders refresh against root_3


def test_check_reports_its_timings(world: EventWorld, open_gate: OpenGate) -> None:
    # how small the overhead is, is measured by scripts/bench_gate.py (no clock in a test)
    gate = open_gate(world, "gate-A")
    code = world.prove(0, gate.challenges.current().challenge)
    result = gate.check(code)
    assert result.admitted
    assert 0 < result.verify_ms <= result.total_ms
    assert result.overhead_ms == pytest.approx(result.total_ms - result.verify_ms)
