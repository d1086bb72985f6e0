"""Gate roots (history and grace period), anchored check-ins, and on-chain check-in through a
configurable mock Groth16 verifier."""

from __future__ import annotations

import pytest
from eth_abi.packed import encode_packed
from eth_utils import keccak

from .helpers import FIELD, HOUR, ZERO_ADDRESS, ZERO_BYTES32, as_bytes32_hex, bytes32, reverts, warp

A = [1, 2]
B = [[3, 4], [5, 6]]
C = [7, 8]
ROOT_1, ROOT_2, ROOT_3 = bytes32(111), bytes32(222), bytes32(333)
NULLIFIER = bytes32(4242)
CHALLENGE = 987654321


def _published_at(ticket, root):
    return ticket.rootStatus(root)[0]


# ----------------------------------------------------------------------------- roots


def test_publish_root_records_history(ticket, gate):
    tx = ticket.publishRoot(ROOT_1, {"from": gate})
    assert as_bytes32_hex(tx.events["RootPublished"]["root"]) == ROOT_1
    assert as_bytes32_hex(tx.events["RootPublished"]["previous"]) == ZERO_BYTES32
    assert as_bytes32_hex(ticket.currentRoot()) == ROOT_1
    first_at = tx.timestamp
    assert tuple(ticket.rootStatus(ROOT_1)) == (first_at, 0)

    tx = ticket.publishRoot(ROOT_2, {"from": gate})
    assert as_bytes32_hex(tx.events["RootPublished"]["previous"]) == ROOT_1
    assert tuple(ticket.rootStatus(ROOT_1)) == (first_at, tx.timestamp)
    assert tuple(ticket.rootStatus(ROOT_2)) == (tx.timestamp, 0)
    assert ticket.isAcceptedRoot(ROOT_1)  # within the grace period
    assert ticket.isAcceptedRoot(ROOT_2)
    assert not ticket.isAcceptedRoot(ROOT_3)
    assert tuple(ticket.rootStatus(ROOT_3)) == (0, 0)


def test_replaced_root_expires_after_the_grace_period(ticket, gate):
    ticket.publishRoot(ROOT_1, {"from": gate})
    replaced_at = ticket.publishRoot(ROOT_2, {"from": gate}).timestamp
    warp(replaced_at + HOUR - 60)
    assert ticket.isAcceptedRoot(ROOT_1)
    warp(replaced_at + HOUR + 1)
    assert not ticket.isAcceptedRoot(ROOT_1)
    assert ticket.isAcceptedRoot(ROOT_2)  # the current root never expires


def test_grace_counts_from_replacement_not_publication(ticket, gate):
    published = ticket.publishRoot(ROOT_1, {"from": gate}).timestamp
    warp(published + 5 * HOUR)
    assert ticket.isAcceptedRoot(ROOT_1)
    replaced_at = ticket.publishRoot(ROOT_2, {"from": gate}).timestamp
    warp(replaced_at + 600)
    ticket.publishRoot(ROOT_3, {"from": gate})  # ROOT_2 is replaced ten minutes after ROOT_1
    assert ticket.isAcceptedRoot(ROOT_1)
    assert ticket.rootStatus(ROOT_1)[1] == replaced_at
    warp(replaced_at + HOUR + 1)
    assert not ticket.isAcceptedRoot(ROOT_1)
    assert ticket.isAcceptedRoot(ROOT_2)  # replaced later, still in grace


def test_republishing_the_current_root_changes_nothing(ticket, gate):
    at = ticket.publishRoot(ROOT_1, {"from": gate}).timestamp
    warp(at + 100)
    tx = ticket.publishRoot(ROOT_1, {"from": gate})
    assert "RootPublished" not in tx.events
    assert tuple(ticket.rootStatus(ROOT_1)) == (at, 0)


def test_an_old_root_published_again_is_current_again(ticket, gate):
    ticket.publishRoot(ROOT_1, {"from": gate})
    replaced_at = ticket.publishRoot(ROOT_2, {"from": gate}).timestamp
    warp(replaced_at + 2 * HOUR)
    assert not ticket.isAcceptedRoot(ROOT_1)
    tx = ticket.publishRoot(ROOT_1, {"from": gate})
    assert tuple(ticket.rootStatus(ROOT_1)) == (tx.timestamp, 0)
    assert ticket.isAcceptedRoot(ROOT_1)


@pytest.mark.parametrize("bad", [0, FIELD, 2**256 - 1], ids=["zero", "modulus", "max"])
def test_root_must_be_a_non_zero_field_element(ticket, gate, bad):
    with reverts("InvalidParameter", "root"):
        ticket.publishRoot(bytes32(bad), {"from": gate})


def test_a_retired_root_loses_its_grace_at_once(ticket, gate, alice):
    # holders changed after ROOT_1 (a resale): its grace would let the seller's old secret in
    ticket.publishRoot(ROOT_1, {"from": gate})
    ticket.publishRoot(ROOT_2, {"from": gate})
    assert ticket.isAcceptedRoot(ROOT_1)
    tx = ticket.retireRoot(ROOT_1, {"from": gate})
    assert as_bytes32_hex(tx.events["RootRetired"]["root"]) == ROOT_1
    assert not ticket.isAcceptedRoot(ROOT_1)
    assert ticket.isAcceptedRoot(ROOT_2)
    assert "RootRetired" not in ticket.retireRoot(ROOT_1, {"from": gate}).events  # idempotent
    with reverts("UnknownRoot", ROOT_2):  # the current root cannot be retired
        ticket.retireRoot(ROOT_2, {"from": gate})
    with reverts("UnknownRoot", ROOT_3):  # nor one never published
        ticket.retireRoot(ROOT_3, {"from": gate})
    with reverts("MissingRole", alice, 2):
        ticket.retireRoot(ROOT_1, {"from": alice})
    ticket.publishRoot(ROOT_1, {"from": gate})  # publishing it again makes it current again
    assert ticket.isAcceptedRoot(ROOT_1)


def test_roots_are_published_by_the_gate_or_the_organizer(ticket, organizer, minter, alice):
    for account in (minter, alice):
        with reverts("MissingRole", account, 2):
            ticket.publishRoot(ROOT_1, {"from": account})
    ticket.publishRoot(ROOT_1, {"from": organizer})
    assert as_bytes32_hex(ticket.currentRoot()) == ROOT_1


# ----------------------------------------------------------------------------- anchoring


def test_anchor_check_ins_records_nullifiers(ticket, gate):
    nullifiers = [bytes32(1), bytes32(2)]
    tx = ticket.anchorCheckIns(nullifiers, {"from": gate})
    assert [as_bytes32_hex(n) for n in tx.events["CheckInsAnchored"]["nullifiers"]] == nullifiers
    assert ticket.nullifierUsed(bytes32(1)) and ticket.nullifierUsed(bytes32(2))
    assert not ticket.nullifierUsed(bytes32(3))
    ticket.anchorCheckIns([bytes32(2), bytes32(3)], {"from": gate})  # already recorded: kept
    assert all(ticket.nullifierUsed(bytes32(i)) for i in (1, 2, 3))


def test_anchoring_needs_the_gate_role(ticket, minter, alice):
    for account in (minter, alice):
        with reverts("MissingRole", account, 2):
            ticket.anchorCheckIns([NULLIFIER], {"from": account})


# ----------------------------------------------------------------------------- on-chain check-in


@pytest.fixture
def with_verifier(ticket, organizer, gate, mock_verifier):
    ticket.setVerifier(mock_verifier, {"from": organizer})
    ticket.publishRoot(ROOT_1, {"from": gate})
    return mock_verifier


def test_no_verifier_configured(ticket, gate):
    ticket.publishRoot(ROOT_1, {"from": gate})
    with reverts("NoVerifier"):
        ticket.verifyCheckIn(A, B, C, ROOT_1, NULLIFIER, CHALLENGE)
    with reverts("NoVerifier"):
        ticket.checkIn(A, B, C, ROOT_1, NULLIFIER, CHALLENGE, {"from": gate})


def test_set_verifier_is_for_the_organizer(ticket, organizer, gate, mock_verifier):
    with reverts("MissingRole", gate, 0):
        ticket.setVerifier(mock_verifier, {"from": gate})
    tx = ticket.setVerifier(mock_verifier, {"from": organizer})
    assert tx.events["VerifierSet"]["verifier"] == mock_verifier
    assert ticket.verifier() == mock_verifier
    ticket.setVerifier(ZERO_ADDRESS, {"from": organizer})
    assert ticket.verifier() == ZERO_ADDRESS


def test_check_in_spends_the_nullifier_once(ticket, gate, with_verifier):
    assert ticket.verifyCheckIn(A, B, C, ROOT_1, NULLIFIER, CHALLENGE)
    tx = ticket.checkIn(A, B, C, ROOT_1, NULLIFIER, CHALLENGE, {"from": gate})
    event = tx.events["CheckedIn"]
    assert as_bytes32_hex(event["nullifier"]) == NULLIFIER
    assert as_bytes32_hex(event["root"]) == ROOT_1
    assert event["challenge"] == CHALLENGE
    assert ticket.nullifierUsed(NULLIFIER)
    assert not ticket.verifyCheckIn(A, B, C, ROOT_1, NULLIFIER, CHALLENGE)
    with reverts("NullifierUsed", NULLIFIER):
        ticket.checkIn(A, B, C, ROOT_1, NULLIFIER, CHALLENGE + 1, {"from": gate})


def test_check_in_refuses_a_nullifier_anchored_by_another_gate(ticket, gate, with_verifier):
    ticket.anchorCheckIns([NULLIFIER], {"from": gate})
    assert not ticket.verifyCheckIn(A, B, C, ROOT_1, NULLIFIER, CHALLENGE)
    with reverts("NullifierUsed", NULLIFIER):
        ticket.checkIn(A, B, C, ROOT_1, NULLIFIER, CHALLENGE, {"from": gate})


def test_check_in_refuses_unknown_and_expired_roots(ticket, gate, with_verifier):
    assert not ticket.verifyCheckIn(A, B, C, ROOT_2, NULLIFIER, CHALLENGE)
    with reverts("UnknownRoot", ROOT_2):
        ticket.checkIn(A, B, C, ROOT_2, NULLIFIER, CHALLENGE, {"from": gate})
    replaced_at = ticket.publishRoot(ROOT_2, {"from": gate}).timestamp
    ticket.checkIn(A, B, C, ROOT_1, bytes32(1), CHALLENGE, {"from": gate})  # in grace
    warp(replaced_at + HOUR + 1)
    with reverts("UnknownRoot", ROOT_1):
        ticket.checkIn(A, B, C, ROOT_1, bytes32(2), CHALLENGE, {"from": gate})
    assert not ticket.nullifierUsed(bytes32(2))


def test_check_in_refuses_an_invalid_proof(ticket, gate, deployer, with_verifier):
    with_verifier.setResult(False, {"from": deployer})
    assert not ticket.verifyCheckIn(A, B, C, ROOT_1, NULLIFIER, CHALLENGE)
    with reverts("InvalidProof"):
        ticket.checkIn(A, B, C, ROOT_1, NULLIFIER, CHALLENGE, {"from": gate})
    assert not ticket.nullifierUsed(NULLIFIER)


def test_gate_scope_binds_chain_and_contract(ticket, chain):
    packed = encode_packed(["uint256", "address"], [chain.id, ticket.address])
    assert ticket.gateScope() == int.from_bytes(keccak(packed), "big") >> 8
    assert ticket.gateScope() < FIELD


def test_public_signals_are_nullifier_root_scope_challenge(
    ticket, create_event, organizer, gate, deployer, with_verifier
):
    scope = ticket.gateScope()
    with_verifier.expectSignals(
        [int(NULLIFIER, 16), int(ROOT_1, 16), scope, CHALLENGE], {"from": deployer}
    )
    assert ticket.verifyCheckIn(A, B, C, ROOT_1, NULLIFIER, CHALLENGE)
    # The same proof at another challenge, or at another event (another scope), fails.
    with reverts("InvalidProof"):
        ticket.checkIn(A, B, C, ROOT_1, NULLIFIER, CHALLENGE + 1, {"from": gate})
    other = create_event()
    other.setVerifier(with_verifier, {"from": organizer})
    other.publishRoot(ROOT_1, {"from": gate})
    assert other.gateScope() != scope
    assert not other.verifyCheckIn(A, B, C, ROOT_1, NULLIFIER, CHALLENGE)
    ticket.checkIn(A, B, C, ROOT_1, NULLIFIER, CHALLENGE, {"from": gate})


def test_check_in_needs_the_gate_role(ticket, minter, alice, with_verifier):
    for account in (minter, alice):
        with reverts("MissingRole", account, 2):
            ticket.checkIn(A, B, C, ROOT_1, NULLIFIER, CHALLENGE, {"from": account})


def test_check_in_refuses_a_retired_root_within_its_grace(ticket, gate, with_verifier):
    # A resale after ROOT_1: the seller's old secret must not enter through ROOT_1's grace.
    ticket.publishRoot(ROOT_2, {"from": gate})
    ticket.retireRoot(ROOT_1, {"from": gate})
    assert not ticket.verifyCheckIn(A, B, C, ROOT_1, NULLIFIER, CHALLENGE)
    with reverts("UnknownRoot", ROOT_1):
        ticket.checkIn(A, B, C, ROOT_1, NULLIFIER, CHALLENGE, {"from": gate})
    ticket.checkIn(A, B, C, ROOT_2, NULLIFIER, CHALLENGE, {"from": gate})
    assert ticket.nullifierUsed(NULLIFIER)
