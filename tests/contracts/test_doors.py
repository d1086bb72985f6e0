"""Issue 9 item 7: after doors no ticket moves or changes its secret, on any path.

A nullifier follows the holder's secret, so a ticket that could be resold, gifted, transferred
or rotated after entering could enter again under a new nullifier. Every resale window closes
at or before doors (`startsAt`), and no window can be set to close later or be reopened during
the event. Runs under each transfer policy.
"""

from __future__ import annotations

from brownie import chain

from .conftest import GA, GA_FACE, policy_fixture, tier
from .helpers import (
    FREE,
    LOCKED,
    MARKET_ONLY,
    ZERO_ADDRESS,
    bytes32,
    commitment,
    compact,
    order_terms,
    reverts,
    sign_order,
    warp,
)

policy = policy_fixture(MARKET_ONLY, FREE, LOCKED)

A, B, C = [1, 2], [[3, 4], [5, 6]], [7, 8]
ROOT = bytes32(555)
NULLIFIER = bytes32(777)


def test_a_window_closing_after_doors_is_refused_everywhere(
    create_event, ticket, organizer, schedule
):
    late = tier(GA_FACE, 10, closes=schedule.starts + 1)
    with reverts("InvalidParameter", "window"):
        create_event(tiers=[late])
    with reverts("InvalidParameter", "window"):
        ticket.addTier(late, {"from": organizer})
    with reverts("InvalidParameter", "window"):
        ticket.setResaleWindow(GA, 0, schedule.starts + 1, {"from": organizer})
    ticket.setResaleWindow(GA, 0, schedule.starts, {"from": organizer})  # closing at doors is fine


def test_enter_then_rotate_resell_gift_or_transfer_then_enter_again_fails_on_every_path(
    ticket, tgate, mint, organizer, gate, alice, bob, schedule, mock_verifier, policy
):
    (token,) = mint(alice)
    # before doors the seller prepares every way out: a listing, a gift and a signed order
    if policy != LOCKED:
        ticket.list(token, GA_FACE, ZERO_ADDRESS, {"from": alice})
    order = {
        "tokenId": token,
        "price": GA_FACE,
        "reservedFor": ZERO_ADDRESS,
        "moves": ticket.movesOf(token),
        "nonce": ticket.orderNonce(alice),
        "deadline": schedule.ends,
    }
    signature = sign_order(alice.private_key, ticket, order)
    tgate.setVerifier(mock_verifier, {"from": organizer})
    tgate.publishRoot(ROOT, {"from": gate})
    changed = ticket.holdersChangedAt()

    warp(schedule.starts)  # doors: the holder enters on-chain
    tgate.checkIn(
        A, B, C, ROOT, NULLIFIER, tgate.windowChallenge(chain.time() // 20), {"from": gate}
    )
    assert ticket.locked(token)

    closed = "TicketLocked" if policy == LOCKED else "ResaleClosed"
    with reverts("ResaleClosed", token):  # a new secret for the same ticket
        ticket.rotateCommitment(token, commitment(), {"from": alice})
    with reverts(closed, token):  # a new listing or a gift
        ticket.list(token, GA_FACE, ZERO_ADDRESS, {"from": alice})
    with reverts(closed, token):
        ticket.list(token, 0, bob, {"from": alice})
    if policy != LOCKED:
        with reverts("ResaleClosed", token):  # the listing made before doors
            ticket.buy(token, commitment(), {"from": bob, "value": GA_FACE})
    with reverts(closed, token):  # the signed order made before doors
        ticket.buyWithOrder(
            order_terms(order), *compact(signature), commitment(), {"from": bob, "value": GA_FACE}
        )
    transfer_error = {
        MARKET_ONLY: "TransferOutsideMarket",
        FREE: "TicketLocked",
        LOCKED: "TicketLocked",
    }
    with reverts(transfer_error[policy]):
        ticket.transferFrom(alice, bob, token, {"from": alice})
    # nor can the organizer reopen a window during the event
    with reverts("InvalidParameter", "window"):
        ticket.setResaleWindow(GA, 0, schedule.ends, {"from": organizer})
    with reverts("InvalidParameter", "window"):
        ticket.addTier(tier(GA_FACE, 5, closes=schedule.ends), {"from": organizer})
    # the ticket is still alice's, with the secret it entered with: no second nullifier exists
    assert ticket.ownerOf(token) == alice
    assert ticket.holdersChangedAt() == changed
