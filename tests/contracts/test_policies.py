"""Transfer policies: the same behaviour suite run against MarketOnly, Free and Locked, then
what only Free allows (approvals, operators, plain and safe transfers) with its own refusals.
"""

from __future__ import annotations

import pytest

from .conftest import GA, GA_FACE, policy_fixture
from .helpers import (
    FREE,
    LOCKED,
    MARKET_ONLY,
    ZERO_ADDRESS,
    ZERO_BYTES32,
    as_bytes32_hex,
    commitment,
    commitments,
    compact,
    order_ref,
    order_terms,
    reverts,
    sign_order,
    warp,
)

policy = policy_fixture(MARKET_ONLY, FREE, LOCKED)

SAFE_3 = "address,address,uint256"
SAFE_4 = "address,address,uint256,bytes"


@pytest.fixture
def token(mint, alice):
    (token_id,) = mint(alice)
    return token_id


def _plain_moves(ticket, alice, bob, token):
    """The four ways to move a ticket outside the market, as alice (the holder)."""
    return [
        ("transferFrom", lambda: ticket.transferFrom(alice, bob, token, {"from": alice})),
        (SAFE_3, lambda: ticket.safeTransferFrom[SAFE_3](alice, bob, token, {"from": alice})),
        (
            SAFE_4,
            lambda: ticket.safeTransferFrom[SAFE_4](alice, bob, token, b"hi", {"from": alice}),
        ),
    ]


# ----------------------------------------------------------------------------- every policy


def test_policy_is_reported(ticket, policy):
    assert ticket.transferPolicy() == policy


def test_mint_announces_locked_tickets_only_under_locked(ticket, minter, alice, policy):
    tx = ticket.mintBatch(GA, [(alice, order_ref(), commitments(3))], {"from": minter})
    locked_ids = [e["tokenId"] for e in tx.events["Locked"]] if "Locked" in tx.events else []
    assert locked_ids == ([0, 1, 2] if policy == LOCKED else [])
    # locked() says whether a plain transfer would succeed: only under Free, in the window
    assert [ticket.locked(i) for i in range(3)] == [policy != FREE] * 3


def test_market_sale_works_unless_locked(ticket, token, alice, bob, policy):
    if policy == LOCKED:
        with reverts("TicketLocked", token):
            ticket.list(token, GA_FACE, ZERO_ADDRESS, {"from": alice})
        with reverts("NotListed", token):
            ticket.buy(token, commitment(), {"from": bob, "value": GA_FACE})
        assert ticket.ownerOf(token) == alice
    else:
        ticket.list(token, GA_FACE, ZERO_ADDRESS, {"from": alice})
        ticket.buy(token, commitment(), {"from": bob, "value": GA_FACE})
        assert ticket.ownerOf(token) == bob


def test_signed_order_works_unless_locked(ticket, token, alice, bob, policy):
    order = {
        "tokenId": token,
        "price": GA_FACE,
        "reservedFor": ZERO_ADDRESS,
        "moves": 0,
        "nonce": 0,
        "deadline": 2**40,
    }
    signature = sign_order(alice.private_key, ticket, order)
    call = lambda: ticket.buyWithOrder(  # noqa: E731
        order_terms(order), *compact(signature), commitment(), {"from": bob, "value": GA_FACE}
    )
    if policy == LOCKED:
        with reverts("TicketLocked", token):
            call()
    else:
        call()
        assert ticket.ownerOf(token) == bob


def test_approvals_only_under_free(ticket, token, alice, bob, policy):
    if policy == FREE:
        assert ticket.approve(bob, token, {"from": alice}).events["Approval"]["approved"] == bob
        assert ticket.getApproved(token) == bob
        ticket.setApprovalForAll(bob, True, {"from": alice})
        assert ticket.isApprovedForAll(alice, bob)
    else:
        with reverts("TransferOutsideMarket"):
            ticket.approve(bob, token, {"from": alice})
        with reverts("TransferOutsideMarket"):
            ticket.setApprovalForAll(bob, True, {"from": alice})
        assert ticket.getApproved(token) == ZERO_ADDRESS
        assert not ticket.isApprovedForAll(alice, bob)


def test_plain_transfers_follow_the_policy(ticket, token, alice, bob, policy):
    for name, move in _plain_moves(ticket, alice, bob, token):
        if policy == MARKET_ONLY:
            with reverts("TransferOutsideMarket"):
                move()
        elif policy == LOCKED:
            with reverts("TicketLocked", token):
                move()
        else:
            tx = move()
            assert ticket.ownerOf(token) == bob, name
            # A plain transfer carries no commitment: the gate tree drops the old one.
            assert as_bytes32_hex(tx.events["CommitmentRotated"]["commitment"]) == ZERO_BYTES32
            ticket.transferFrom(bob, alice, token, {"from": bob})
    assert ticket.ownerOf(token) == alice
    assert ticket.balanceOf(alice) == 1


def test_custody_release_works_under_every_policy(ticket, mint, minter, alice):
    (token,) = mint(minter)
    ticket.releaseFromCustody(token, alice, {"from": minter})
    assert ticket.ownerOf(token) == alice


# ----------------------------------------------------------------------------- Free only


@pytest.fixture(scope="module")
def free(create_event):
    return create_event(policy=FREE)


@pytest.fixture
def free_token(free, minter, alice):
    tx = free.mintBatch(GA, [(alice, order_ref(), commitments(2))], {"from": minter})
    return tx.events["TicketsIssued"]["firstTokenId"]


def test_free_approved_spender_moves_the_ticket_once(free, free_token, alice, bob, carol):
    free.approve(bob, free_token, {"from": alice})
    free.transferFrom(alice, carol, free_token, {"from": bob})
    assert free.ownerOf(free_token) == carol
    assert free.getApproved(free_token) == ZERO_ADDRESS  # died with the move
    free.transferFrom(carol, alice, free_token, {"from": carol})
    assert free.getApproved(free_token) == ZERO_ADDRESS  # and stays dead when it comes back
    with reverts("NotAuthorized", free_token, bob):
        free.transferFrom(alice, bob, free_token, {"from": bob})


def test_free_operator_moves_and_approves(free, free_token, alice, bob, carol, dave):
    free.setApprovalForAll(bob, True, {"from": alice})
    free.approve(dave, free_token + 1, {"from": bob})
    assert free.getApproved(free_token + 1) == dave
    free.safeTransferFrom[SAFE_3](alice, carol, free_token, {"from": bob})
    assert free.ownerOf(free_token) == carol
    free.setApprovalForAll(bob, False, {"from": alice})
    with reverts("NotAuthorized", free_token + 1, bob):
        free.transferFrom(alice, carol, free_token + 1, {"from": bob})


def test_free_refusals(free, free_token, factory, alice, bob, carol):
    with reverts("NotAuthorized", free_token, carol):
        free.transferFrom(alice, bob, free_token, {"from": carol})
    with reverts("NotAuthorized", free_token, bob):
        free.approve(carol, free_token, {"from": bob})
    with reverts("NotTicketHolder", free_token, bob):
        free.transferFrom(bob, carol, free_token, {"from": bob})
    with reverts("InvalidReceiver", ZERO_ADDRESS):
        free.transferFrom(alice, ZERO_ADDRESS, free_token, {"from": alice})
    with reverts("InvalidParameter", "operator"):
        free.setApprovalForAll(ZERO_ADDRESS, True, {"from": alice})
    with reverts("InvalidReceiver", factory):  # a contract without onERC721Received
        free.safeTransferFrom[SAFE_3](alice, factory, free_token, {"from": alice})
    with reverts("NonexistentTicket", 99):
        free.approve(bob, 99, {"from": alice})
    assert free.ownerOf(free_token) == alice


def test_free_transfer_drops_the_listing(free, free_token, alice, bob, carol):
    free.list(free_token, GA_FACE, ZERO_ADDRESS, {"from": alice})
    free.transferFrom(alice, bob, free_token, {"from": alice})
    assert tuple(free.listing(free_token)) == (ZERO_ADDRESS, 0, ZERO_ADDRESS)
    with reverts("NotListed", free_token):
        free.buy(free_token, commitment(), {"from": carol, "value": GA_FACE})


def test_free_tickets_lock_when_resale_closes(free, free_token, alice, bob, schedule):
    warp(schedule.resale_closes)
    assert free.locked(free_token)
    with reverts("TicketLocked", free_token):
        free.transferFrom(alice, bob, free_token, {"from": alice})


def test_locked_says_whether_a_plain_transfer_would_succeed(ticket, token, alice, bob, schedule):
    """Issue 9 item 11 (ERC-5192): under MarketOnly every plain transfer reverts, so the ticket
    is locked (wallets and marketplaces must not show it as transferable); under Free it is
    unlocked exactly while the tier's resale window is open; under Locked always locked. The
    transfer is simulated (eth_call): nothing moves."""
    for moment in ("in the window", "after the window"):
        if moment == "after the window":
            warp(schedule.resale_closes)
        try:
            ticket.transferFrom.call(alice, bob, token, {"from": alice})
            moves = True
        except Exception:  # brownie raises VirtualMachineError for the revert
            moves = False
        assert ticket.locked(token) is (not moves), moment
