"""The TicketGate: gate roots (history and grace period), anchored check-ins, and on-chain
check-in through a configurable mock Groth16 verifier, each event in its own namespace."""

from __future__ import annotations

import pytest
from brownie import chain
from eth_abi.packed import encode_packed
from eth_utils import keccak

from .conftest import GA_FACE
from .helpers import (
    FIELD,
    HOUR,
    ZERO_ADDRESS,
    ZERO_BYTES32,
    as_bytes32_hex,
    bytes32,
    commitment,
    reverts,
    warp,
)

A = [1, 2]
B = [[3, 4], [5, 6]]
C = [7, 8]
ROOT_1, ROOT_2, ROOT_3 = bytes32(111), bytes32(222), bytes32(333)
NULLIFIER = bytes32(4242)


def _challenge(tgate, back=0):
    """The rotating challenge of the current time window (``back`` windows earlier)."""
    return tgate.windowChallenge(chain.time() // 20 - back)


def _published_at(tgate, root):
    return tgate.rootStatus(root)[0]


# ----------------------------------------------------------------------------- roots


def test_publish_root_records_history(tgate, gate):
    tx = tgate.publishRoot(ROOT_1, {"from": gate})
    assert as_bytes32_hex(tx.events["RootPublished"]["root"]) == ROOT_1
    assert as_bytes32_hex(tx.events["RootPublished"]["previous"]) == ZERO_BYTES32
    assert as_bytes32_hex(tgate.currentRoot()) == ROOT_1
    first_at = tx.timestamp
    assert tuple(tgate.rootStatus(ROOT_1)) == (first_at, 0)

    tx = tgate.publishRoot(ROOT_2, {"from": gate})
    assert as_bytes32_hex(tx.events["RootPublished"]["previous"]) == ROOT_1
    assert tuple(tgate.rootStatus(ROOT_1)) == (first_at, tx.timestamp)
    assert tuple(tgate.rootStatus(ROOT_2)) == (tx.timestamp, 0)
    assert tgate.isAcceptedRoot(ROOT_1)  # within the grace period
    assert tgate.isAcceptedRoot(ROOT_2)
    assert not tgate.isAcceptedRoot(ROOT_3)
    assert tuple(tgate.rootStatus(ROOT_3)) == (0, 0)


def test_replaced_root_expires_after_the_grace_period(tgate, gate):
    tgate.publishRoot(ROOT_1, {"from": gate})
    replaced_at = tgate.publishRoot(ROOT_2, {"from": gate}).timestamp
    warp(replaced_at + HOUR - 60)
    assert tgate.isAcceptedRoot(ROOT_1)
    warp(replaced_at + HOUR + 1)
    assert not tgate.isAcceptedRoot(ROOT_1)
    assert tgate.isAcceptedRoot(ROOT_2)  # the current root never expires


def test_grace_counts_from_replacement_not_publication(tgate, gate):
    published = tgate.publishRoot(ROOT_1, {"from": gate}).timestamp
    warp(published + 5 * HOUR)
    assert tgate.isAcceptedRoot(ROOT_1)
    replaced_at = tgate.publishRoot(ROOT_2, {"from": gate}).timestamp
    warp(replaced_at + 600)
    tgate.publishRoot(ROOT_3, {"from": gate})  # ROOT_2 is replaced ten minutes after ROOT_1
    assert tgate.isAcceptedRoot(ROOT_1)
    assert tgate.rootStatus(ROOT_1)[1] == replaced_at
    warp(replaced_at + HOUR + 1)
    assert not tgate.isAcceptedRoot(ROOT_1)
    assert tgate.isAcceptedRoot(ROOT_2)  # replaced later, still in grace


def test_republishing_the_current_root_changes_nothing(tgate, gate):
    at = tgate.publishRoot(ROOT_1, {"from": gate}).timestamp
    warp(at + 100)
    tx = tgate.publishRoot(ROOT_1, {"from": gate})
    assert "RootPublished" not in tx.events
    assert tuple(tgate.rootStatus(ROOT_1)) == (at, 0)


def test_an_old_root_published_again_is_current_again(tgate, gate):
    tgate.publishRoot(ROOT_1, {"from": gate})
    replaced_at = tgate.publishRoot(ROOT_2, {"from": gate}).timestamp
    warp(replaced_at + 2 * HOUR)
    assert not tgate.isAcceptedRoot(ROOT_1)
    tx = tgate.publishRoot(ROOT_1, {"from": gate})
    assert tuple(tgate.rootStatus(ROOT_1)) == (tx.timestamp, 0)
    assert tgate.isAcceptedRoot(ROOT_1)


@pytest.mark.parametrize("bad", [0, FIELD, 2**256 - 1], ids=["zero", "modulus", "max"])
def test_root_must_be_a_non_zero_field_element(tgate, gate, bad):
    with reverts("InvalidParameter", "root"):
        tgate.publishRoot(bytes32(bad), {"from": gate})


def test_a_retired_root_loses_its_grace_at_once(tgate, gate, alice):
    # holders changed after ROOT_1 (a resale): its grace would let the seller's old secret in
    tgate.publishRoot(ROOT_1, {"from": gate})
    tgate.publishRoot(ROOT_2, {"from": gate})
    assert tgate.isAcceptedRoot(ROOT_1)
    tx = tgate.retireRoot(ROOT_1, {"from": gate})
    assert as_bytes32_hex(tx.events["RootRetired"]["root"]) == ROOT_1
    assert not tgate.isAcceptedRoot(ROOT_1)
    assert tgate.isAcceptedRoot(ROOT_2)
    assert "RootRetired" not in tgate.retireRoot(ROOT_1, {"from": gate}).events  # idempotent
    with reverts("UnknownRoot", ROOT_2):  # the current root cannot be retired
        tgate.retireRoot(ROOT_2, {"from": gate})
    with reverts("UnknownRoot", ROOT_3):  # nor one never published
        tgate.retireRoot(ROOT_3, {"from": gate})
    with reverts("MissingRole", alice, 2):
        tgate.retireRoot(ROOT_1, {"from": alice})
    tgate.publishRoot(ROOT_1, {"from": gate})  # publishing it again makes it current again
    assert tgate.isAcceptedRoot(ROOT_1)


def test_roots_are_published_by_the_gate_or_the_organizer(tgate, organizer, minter, alice):
    for account in (minter, alice):
        with reverts("MissingRole", account, 2):
            tgate.publishRoot(ROOT_1, {"from": account})
    tgate.publishRoot(ROOT_1, {"from": organizer})
    assert as_bytes32_hex(tgate.currentRoot()) == ROOT_1


# ----------------------------------------------------------------------------- anchoring


def test_anchor_check_ins_records_nullifiers(tgate, gate):
    nullifiers = [bytes32(1), bytes32(2)]
    tx = tgate.anchorCheckIns(nullifiers, {"from": gate})
    assert [as_bytes32_hex(n) for n in tx.events["CheckInsAnchored"]["nullifiers"]] == nullifiers
    assert tgate.nullifierUsed(bytes32(1)) and tgate.nullifierUsed(bytes32(2))
    assert not tgate.nullifierUsed(bytes32(3))
    tgate.anchorCheckIns([bytes32(2), bytes32(3)], {"from": gate})  # already recorded: kept
    assert all(tgate.nullifierUsed(bytes32(i)) for i in (1, 2, 3))


def test_anchoring_needs_the_gate_role(tgate, minter, alice):
    for account in (minter, alice):
        with reverts("MissingRole", account, 2):
            tgate.anchorCheckIns([NULLIFIER], {"from": account})


# ----------------------------------------------------------------------------- on-chain check-in


@pytest.fixture
def with_verifier(tgate, organizer, gate, mock_verifier):
    tgate.setVerifier(mock_verifier, {"from": organizer})
    tgate.publishRoot(ROOT_1, {"from": gate})
    return mock_verifier


def test_no_verifier_configured(tgate, gate):
    ch = _challenge(tgate)
    tgate.publishRoot(ROOT_1, {"from": gate})
    with reverts("NoVerifier"):
        tgate.verifyCheckIn(A, B, C, ROOT_1, NULLIFIER, ch)
    with reverts("NoVerifier"):
        tgate.checkIn(A, B, C, ROOT_1, NULLIFIER, ch, {"from": gate})


def test_set_verifier_is_for_the_organizer(tgate, organizer, gate, mock_verifier):
    with reverts("MissingRole", gate, 0):
        tgate.setVerifier(mock_verifier, {"from": gate})
    tx = tgate.setVerifier(mock_verifier, {"from": organizer})
    assert tx.events["VerifierSet"]["verifier"] == mock_verifier
    assert tgate.verifier() == mock_verifier
    tgate.setVerifier(ZERO_ADDRESS, {"from": organizer})
    assert tgate.verifier() == ZERO_ADDRESS


def test_check_in_spends_the_nullifier_once(tgate, gate, with_verifier):
    ch = _challenge(tgate)
    assert tgate.verifyCheckIn(A, B, C, ROOT_1, NULLIFIER, ch)
    tx = tgate.checkIn(A, B, C, ROOT_1, NULLIFIER, ch, {"from": gate})
    event = tx.events["CheckedIn"]
    assert as_bytes32_hex(event["nullifier"]) == NULLIFIER
    assert as_bytes32_hex(event["root"]) == ROOT_1
    assert event["challenge"] == ch
    assert tgate.nullifierUsed(NULLIFIER)
    assert not tgate.verifyCheckIn(A, B, C, ROOT_1, NULLIFIER, ch)
    with reverts("NullifierUsed", NULLIFIER):
        tgate.checkIn(A, B, C, ROOT_1, NULLIFIER, ch + 1, {"from": gate})


def test_check_in_refuses_a_nullifier_anchored_by_another_gate(tgate, gate, with_verifier):
    ch = _challenge(tgate)
    tgate.anchorCheckIns([NULLIFIER], {"from": gate})
    assert not tgate.verifyCheckIn(A, B, C, ROOT_1, NULLIFIER, ch)
    with reverts("NullifierUsed", NULLIFIER):
        tgate.checkIn(A, B, C, ROOT_1, NULLIFIER, ch, {"from": gate})


def test_check_in_refuses_unknown_and_expired_roots(tgate, gate, with_verifier):
    ch = _challenge(tgate)
    assert not tgate.verifyCheckIn(A, B, C, ROOT_2, NULLIFIER, ch)
    with reverts("UnknownRoot", ROOT_2):
        tgate.checkIn(A, B, C, ROOT_2, NULLIFIER, ch, {"from": gate})
    replaced_at = tgate.publishRoot(ROOT_2, {"from": gate}).timestamp
    tgate.checkIn(A, B, C, ROOT_1, bytes32(1), ch, {"from": gate})  # in grace
    warp(replaced_at + HOUR + 1)
    with reverts("UnknownRoot", ROOT_1):
        tgate.checkIn(A, B, C, ROOT_1, bytes32(2), ch, {"from": gate})
    assert not tgate.nullifierUsed(bytes32(2))


def test_check_in_refuses_an_invalid_proof(tgate, gate, deployer, with_verifier):
    ch = _challenge(tgate)
    with_verifier.setResult(False, {"from": deployer})
    assert not tgate.verifyCheckIn(A, B, C, ROOT_1, NULLIFIER, ch)
    with reverts("InvalidProof"):
        tgate.checkIn(A, B, C, ROOT_1, NULLIFIER, ch, {"from": gate})
    assert not tgate.nullifierUsed(NULLIFIER)


def test_gate_scope_binds_chain_and_contract(tgate, ticket, chain):
    packed = encode_packed(["uint256", "address"], [chain.id, ticket.address])
    assert tgate.gateScope() == int.from_bytes(keccak(packed), "big") >> 8
    assert tgate.gateScope() < FIELD


def test_public_signals_are_nullifier_root_scope_challenge(
    tgate, gate_of, create_event, organizer, gate, deployer, with_verifier
):
    # at the start of a 20 s window: "another challenge" (the previous window's) must not become
    # this one's when the clock crosses a window between the reads (it did on Anvil)
    chain.sleep(20 - chain.time() % 20)
    chain.mine()
    ch = _challenge(tgate)
    scope = tgate.gateScope()
    with_verifier.expectSignals(
        [int(NULLIFIER, 16), int(ROOT_1, 16), scope, ch], {"from": deployer}
    )
    assert tgate.verifyCheckIn(A, B, C, ROOT_1, NULLIFIER, ch)
    # The same proof at another challenge, or at another event (another scope), fails.
    with reverts("InvalidProof"):
        tgate.checkIn(A, B, C, ROOT_1, NULLIFIER, _challenge(tgate, back=1), {"from": gate})
    other_gate = gate_of(create_event())
    other_gate.setVerifier(with_verifier, {"from": organizer})
    other_gate.publishRoot(ROOT_1, {"from": gate})
    assert other_gate.gateScope() != scope
    assert not other_gate.verifyCheckIn(A, B, C, ROOT_1, NULLIFIER, ch)
    tgate.checkIn(A, B, C, ROOT_1, NULLIFIER, ch, {"from": gate})


def test_check_in_needs_the_gate_role(tgate, minter, alice, with_verifier):
    ch = _challenge(tgate)
    for account in (minter, alice):
        with reverts("MissingRole", account, 2):
            tgate.checkIn(A, B, C, ROOT_1, NULLIFIER, ch, {"from": account})


def test_check_in_refuses_a_retired_root_within_its_grace(tgate, gate, with_verifier):
    ch = _challenge(tgate)
    # A resale after ROOT_1: the seller's old secret must not enter through ROOT_1's grace.
    tgate.publishRoot(ROOT_2, {"from": gate})
    tgate.retireRoot(ROOT_1, {"from": gate})
    assert not tgate.verifyCheckIn(A, B, C, ROOT_1, NULLIFIER, ch)
    with reverts("UnknownRoot", ROOT_1):
        tgate.checkIn(A, B, C, ROOT_1, NULLIFIER, ch, {"from": gate})
    tgate.checkIn(A, B, C, ROOT_2, NULLIFIER, ch, {"from": gate})
    assert tgate.nullifierUsed(NULLIFIER)


def test_events_have_separate_namespaces(tgate, gate_of, create_event, organizer, gate, alice):
    """One TicketGate serves every event: a root, a nullifier or a verifier of one event is
    nothing to another, and an event's gate role acts for that event only."""
    other = create_event(gate_=alice)
    other_gate = gate_of(other)
    tx = tgate.publishRoot(ROOT_1, {"from": gate})
    assert tx.events["RootPublished"]["ticketEvent"] == tgate.event
    tgate.anchorCheckIns([NULLIFIER], {"from": gate})
    assert not other_gate.isAcceptedRoot(ROOT_1)
    assert as_bytes32_hex(other_gate.currentRoot()) == ZERO_BYTES32
    assert not other_gate.nullifierUsed(NULLIFIER)
    with reverts("MissingRole", gate, 2):  # the module event's gate is no gate of the other
        other_gate.publishRoot(ROOT_2, {"from": gate})
    with reverts("MissingRole", alice, 2):
        tgate.publishRoot(ROOT_2, {"from": alice})
    other_gate.publishRoot(ROOT_2, {"from": alice})
    assert as_bytes32_hex(tgate.currentRoot()) == ROOT_1


def test_the_event_names_its_gate(ticket, ticket_gate, gate, organizer, minter):
    assert ticket.ticketGate() == ticket_gate
    assert ticket.isGateOperator(gate) and ticket.isGateOperator(organizer)
    assert not ticket.isGateOperator(minter)
    assert ticket.rootGracePeriod() == HOUR


# ----------------------------------------------------------------------------- issue 9 item 6


@pytest.fixture
def holder_change(ticket, mint, minter, alice, bob):
    """Ways a ticket's holder commitment leaves the tree (a resale, a rotation, a burn)."""

    def change(kind):
        (token,) = mint(alice)
        if kind == "resale":
            ticket.list(token, GA_FACE, ZERO_ADDRESS, {"from": alice})
            return ticket.buy(token, commitment(), {"from": bob, "value": GA_FACE})
        if kind == "rotation":
            return ticket.rotateCommitment(token, commitment(), {"from": alice})
        return ticket.revoke([token], {"from": minter})

    return change


@pytest.mark.parametrize("kind", ["resale", "rotation", "burn"])
def test_roots_published_before_holders_changed_lose_their_grace(
    tgate, ticket, gate, mint, alice, holder_change, with_verifier, kind
):
    # the attack as found: R1 published; mints; R2 published (R1 in grace, not retired); a
    # resale; R3 published and only R2 retired. R1 stayed accepted, so the seller's old secret
    # entered through R1 while the buyer entered through R3. Nobody retires anything here.
    mint(alice)
    tgate.publishRoot(ROOT_2, {"from": gate})  # ROOT_1 (with_verifier) replaced: in grace
    assert tgate.isAcceptedRoot(ROOT_1)  # only new tickets since ROOT_1: grace holds
    changed_at = holder_change(kind).timestamp
    assert ticket.holdersChangedAt() == changed_at
    warp(changed_at + 5)
    tgate.publishRoot(ROOT_3, {"from": gate})
    assert not tgate.isAcceptedRoot(ROOT_1)  # replaced, published before the change
    assert not tgate.isAcceptedRoot(ROOT_2)  # replaced seconds ago, but also before it
    assert tgate.isAcceptedRoot(ROOT_3)
    ch = _challenge(tgate)
    assert not tgate.verifyCheckIn(A, B, C, ROOT_1, NULLIFIER, ch)
    with reverts("UnknownRoot", ROOT_1):
        tgate.checkIn(A, B, C, ROOT_1, NULLIFIER, ch, {"from": gate})
    with reverts("UnknownRoot", ROOT_2):
        tgate.checkIn(A, B, C, ROOT_2, NULLIFIER, ch, {"from": gate})
    tgate.checkIn(A, B, C, ROOT_3, NULLIFIER, ch, {"from": gate})


def test_the_current_root_and_roots_after_the_change_keep_their_grace(
    tgate, ticket, gate, alice, holder_change
):
    tgate.publishRoot(ROOT_1, {"from": gate})
    changed_at = holder_change("resale").timestamp
    # the current root stays accepted (refusing it would stop every holder until the next
    # publication), even though it predates the change
    assert tgate.isAcceptedRoot(ROOT_1)
    warp(changed_at + 5)
    tgate.publishRoot(ROOT_2, {"from": gate})
    tgate.publishRoot(ROOT_3, {"from": gate})  # only new tickets after ROOT_2: it keeps grace
    assert not tgate.isAcceptedRoot(ROOT_1)
    assert tgate.isAcceptedRoot(ROOT_2) and tgate.isAcceptedRoot(ROOT_3)


def test_mints_do_not_count_as_a_change_of_holders(ticket, mint, alice):
    assert ticket.holdersChangedAt() == 0
    mint(alice, 3)
    assert ticket.holdersChangedAt() == 0


# ----------------------------------------------------------------------------- issue 9 item 8


def test_the_window_challenge_is_zk_identitys_formula(tgate, ticket, chain):
    from zk.identity import gate_scope, window_challenge

    scope = gate_scope(chain.id, ticket.address)
    for window in (0, 1, 88_000_000, 2**64 - 1):
        assert tgate.windowChallenge(window) == window_challenge(scope, window)
    assert tgate.contract.windowSeconds() == 20


def test_check_in_takes_only_this_or_the_previous_windows_challenge(
    tgate, gate, deployer, with_verifier
):
    now_window = chain.time() // 20
    # a photographed code: made two windows ago, or for another challenge altogether
    for stale in (tgate.windowChallenge(now_window - 2), 987654321):
        assert not tgate.verifyCheckIn(A, B, C, ROOT_1, NULLIFIER, stale)
        with reverts("StaleChallenge", stale):
            tgate.checkIn(A, B, C, ROOT_1, NULLIFIER, stale, {"from": gate})
    assert not tgate.nullifierUsed(NULLIFIER)
    # a code shown at the turn of a window (the previous window's) still enters
    tgate.checkIn(A, B, C, ROOT_1, NULLIFIER, _challenge(tgate, back=1), {"from": gate})
    assert tgate.nullifierUsed(NULLIFIER)
