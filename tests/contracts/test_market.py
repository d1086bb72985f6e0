"""The on-chain resale market: list, update, cancel, buy, gift and commitment rotation.

Under MarketOnly, the default policy. The market's code path is the same under Free;
test_policies.py runs a sale under each policy (and shows that Locked closes the market).
"""

from __future__ import annotations

import pytest

from .conftest import GA, GA_FACE, VIP, VIP_FACE, tier
from .helpers import (
    FIELD,
    ZERO_ADDRESS,
    ZERO_BYTES32,
    as_bytes32_hex,
    bytes32,
    commitment,
    gas_cost,
    model_split,
    reverts,
    warp,
)

GA_CAP = GA_FACE * 11_000 // 10_000


@pytest.fixture
def token(mint, alice):
    """A GA ticket minted (card) to alice."""
    (token_id,) = mint(alice)
    return token_id


@pytest.fixture
def eth_token(buy_primary, alice):
    """A GA ticket alice bought with ETH: its sales are paid at once (a card ticket's first paid
    sale is held until the event has happened, see test_value_attacks.py)."""
    (token_id,) = buy_primary(alice)
    return token_id


# ----------------------------------------------------------------------------- listing


def test_resale_cap_is_face_value_times_cap_bps(ticket):
    assert ticket.resaleCap(GA) == GA_CAP
    assert ticket.resaleCap(VIP) == VIP_FACE


def test_list_at_the_cap_records_the_listing(ticket, token, alice):
    tx = ticket.list(token, GA_CAP, ZERO_ADDRESS, {"from": alice})
    event = tx.events["Listed"]
    assert (event["tokenId"], event["seller"], event["price"], event["reservedFor"]) == (
        token,
        alice,
        GA_CAP,
        ZERO_ADDRESS,
    )
    assert tuple(ticket.listing(token)) == (alice, GA_CAP, ZERO_ADDRESS)
    assert ticket.ownerOf(token) == alice  # listing does not move the ticket


def test_list_above_the_cap_is_refused(ticket, token, mint, alice):
    with reverts("PriceAboveCap", GA_CAP + 1, GA_CAP):
        ticket.list(token, GA_CAP + 1, ZERO_ADDRESS, {"from": alice})
    (vip,) = mint(alice, tier_id=VIP)
    with reverts("PriceAboveCap", VIP_FACE + 1, VIP_FACE):
        ticket.list(vip, VIP_FACE + 1, ZERO_ADDRESS, {"from": alice})
    assert tuple(ticket.listing(token)) == (ZERO_ADDRESS, 0, ZERO_ADDRESS)


def test_price_beyond_96_bits_is_refused_even_under_a_huge_cap(
    ticket, organizer, minter, alice, schedule
):
    face = 2**96 - 1
    tier_id = ticket.addTier(
        tier(face, 5, cap_bps=20_000, closes=schedule.starts), {"from": organizer}
    )
    tier_id = tier_id.events["TierAdded"]["tierId"]
    tx = ticket.mintBatch(tier_id, [(alice, bytes32(77), [commitment()])], {"from": minter})
    token = tx.events["TicketsIssued"]["firstTokenId"]
    with reverts("InvalidParameter", "price"):
        ticket.list(token, 2**96, ZERO_ADDRESS, {"from": alice})
    ticket.list(token, 2**96 - 1, ZERO_ADDRESS, {"from": alice})


def test_update_listing_replaces_price_and_reservation(ticket, token, alice, bob):
    ticket.list(token, GA_CAP, ZERO_ADDRESS, {"from": alice})
    tx = ticket.list(token, GA_FACE, bob, {"from": alice})
    assert tx.events["Listed"]["price"] == GA_FACE
    assert tuple(ticket.listing(token)) == (alice, GA_FACE, bob)


def test_only_the_holder_lists(ticket, token, bob, minter):
    for account in (bob, minter):
        with reverts("NotTicketHolder", token, account):
            ticket.list(token, GA_FACE, ZERO_ADDRESS, {"from": account})
    with reverts("NonexistentTicket", 99):
        ticket.list(99, GA_FACE, ZERO_ADDRESS, {"from": bob})


def test_zero_price_needs_a_recipient_and_self_reservation_is_refused(ticket, token, alice):
    with reverts("GiftNeedsRecipient"):
        ticket.list(token, 0, ZERO_ADDRESS, {"from": alice})
    with reverts("SelfPurchase"):
        ticket.list(token, GA_FACE, alice, {"from": alice})


def test_cancel_listing(ticket, token, alice, bob):
    ticket.list(token, GA_FACE, ZERO_ADDRESS, {"from": alice})
    with reverts("NotTicketHolder", token, bob):
        ticket.cancelListing(token, {"from": bob})
    tx = ticket.cancelListing(token, {"from": alice})
    assert tx.events["ListingCancelled"]["tokenId"] == token
    assert tuple(ticket.listing(token)) == (ZERO_ADDRESS, 0, ZERO_ADDRESS)
    with reverts("NotListed", token):
        ticket.cancelListing(token, {"from": alice})
    with reverts("NotListed", token):
        ticket.buy(token, commitment(), {"from": bob, "value": GA_FACE})


def test_listing_outside_the_resale_window_is_refused(ticket, organizer, minter, alice, schedule):
    later = schedule.now + 10 * 24 * 3600
    tx = ticket.addTier(tier(GA_FACE, 10, opens=later, closes=later + 3600), {"from": organizer})
    tier_id = tx.events["TierAdded"]["tierId"]
    tx = ticket.mintBatch(tier_id, [(alice, bytes32(91), [commitment()])], {"from": minter})
    token = tx.events["TicketsIssued"]["firstTokenId"]
    with reverts("ResaleClosed", token):  # not open yet
        ticket.list(token, GA_FACE, ZERO_ADDRESS, {"from": alice})
    warp(later)
    ticket.list(token, GA_FACE, ZERO_ADDRESS, {"from": alice})
    warp(later + 3600)
    with reverts("ResaleClosed", token):  # closed again
        ticket.list(token, GA_FACE, ZERO_ADDRESS, {"from": alice})


def test_set_resale_window_moves_the_window(ticket, token, organizer, alice, schedule):
    tx = ticket.setResaleWindow(GA, 0, schedule.now, {"from": organizer})
    assert tuple(tx.events["ResaleWindowSet"].values()) == (GA, 0, schedule.now)
    with reverts("ResaleClosed", token):
        ticket.list(token, GA_FACE, ZERO_ADDRESS, {"from": alice})
    with reverts("InvalidParameter", "window"):
        ticket.setResaleWindow(GA, 10, 9, {"from": organizer})
    with reverts("MissingRole", alice, 0):
        ticket.setResaleWindow(GA, 0, 2**40 - 1, {"from": alice})


# ----------------------------------------------------------------------------- buying


def test_buy_pays_royalty_and_seller_and_rotates_the_commitment(ticket, eth_token, alice, bob):
    token = eth_token
    ticket.list(token, GA_CAP, ZERO_ADDRESS, {"from": alice})
    royalty, proceeds = model_split(GA_CAP, 500)
    seller_before, buyer_before = alice.balance(), bob.balance()
    new_commitment = commitment()

    tx = ticket.buy(token, new_commitment, {"from": bob, "value": GA_CAP})

    resold = tx.events["Resold"]
    assert (resold["tokenId"], resold["seller"], resold["buyer"]) == (token, alice, bob)
    assert (resold["price"], resold["royalty"]) == (GA_CAP, royalty)
    assert as_bytes32_hex(resold["commitment"]) == new_commitment
    assert tx.events["Transfer"]["from"] == alice
    assert tx.events["Transfer"]["to"] == bob
    assert "PaymentDeferred" not in tx.events
    assert ticket.ownerOf(token) == bob
    assert (ticket.balanceOf(alice), ticket.balanceOf(bob)) == (0, 1)
    assert ticket.movesOf(token) == 1
    assert tuple(ticket.listing(token)) == (ZERO_ADDRESS, 0, ZERO_ADDRESS)
    assert alice.balance() - seller_before == proceeds  # pushed in the same transaction
    assert buyer_before - bob.balance() == GA_CAP + gas_cost(tx)
    assert ticket.royaltyBalance() == royalty
    assert ticket.pendingOf(alice) == 0
    assert ticket.escrowBalance() == GA_FACE  # the primary sale's, untouched


def test_royalty_is_withdrawn_by_the_organizer_at_any_time(
    ticket, eth_token, organizer, alice, bob
):
    token = eth_token
    ticket.list(token, GA_CAP, ZERO_ADDRESS, {"from": alice})
    ticket.buy(token, commitment(), {"from": bob, "value": GA_CAP})
    royalty, _ = model_split(GA_CAP, 500)
    before = organizer.balance()

    tx = ticket.withdrawProceeds(organizer, {"from": organizer})

    withdrawn = tx.events["ProceedsWithdrawn"]
    assert (withdrawn["to"], withdrawn["royalties"], withdrawn["escrow"]) == (organizer, royalty, 0)
    assert organizer.balance() - before == royalty - gas_cost(tx)
    assert ticket.royaltyBalance() == 0
    assert ticket.balance() == GA_FACE  # the escrow stays until the event has happened
    with reverts("NothingToWithdraw"):
        ticket.withdrawProceeds(organizer, {"from": organizer})


def test_resale_of_an_eth_ticket_leaves_the_escrow_alone(ticket, buy_primary, alice, bob):
    (token,) = buy_primary(alice)
    ticket.list(token, GA_CAP, ZERO_ADDRESS, {"from": alice})
    ticket.buy(token, commitment(), {"from": bob, "value": GA_CAP})
    assert ticket.escrowBalance() == GA_FACE
    assert ticket.royaltyBalance() == model_split(GA_CAP, 500)[0]
    assert ticket.balance() == GA_FACE + model_split(GA_CAP, 500)[0]
    assert ticket.paidInEth(token)  # the refund right follows the ticket


@pytest.mark.parametrize("delta", [-1, 1], ids=["short", "over"])
def test_buy_refuses_any_other_payment(ticket, token, alice, bob, delta):
    ticket.list(token, GA_FACE, ZERO_ADDRESS, {"from": alice})
    with reverts("WrongPayment", GA_FACE + delta, GA_FACE):
        ticket.buy(token, commitment(), {"from": bob, "value": GA_FACE + delta})
    assert ticket.ownerOf(token) == alice


@pytest.mark.parametrize("bad", [0, FIELD, 2**256 - 1], ids=["zero", "modulus", "max"])
def test_buy_refuses_an_invalid_commitment(ticket, token, alice, bob, bad):
    ticket.list(token, GA_FACE, ZERO_ADDRESS, {"from": alice})
    with reverts("InvalidCommitment", bytes32(bad)):
        ticket.buy(token, bytes32(bad), {"from": bob, "value": GA_FACE})


def test_seller_cannot_buy_own_listing(ticket, token, alice):
    ticket.list(token, GA_FACE, ZERO_ADDRESS, {"from": alice})
    with reverts("SelfPurchase"):
        ticket.buy(token, commitment(), {"from": alice, "value": GA_FACE})


def test_buy_refuses_after_the_resale_window_closes(ticket, token, alice, bob, schedule):
    ticket.list(token, GA_FACE, ZERO_ADDRESS, {"from": alice})
    warp(schedule.resale_closes)
    with reverts("ResaleClosed", token):
        ticket.buy(token, commitment(), {"from": bob, "value": GA_FACE})
    assert ticket.ownerOf(token) == alice


def test_buyer_resells_and_old_seller_has_no_say(ticket, token, alice, bob, carol):
    ticket.list(token, GA_FACE, ZERO_ADDRESS, {"from": alice})
    ticket.buy(token, commitment(), {"from": bob, "value": GA_FACE})
    with reverts("NotTicketHolder", token, alice):
        ticket.list(token, GA_FACE, ZERO_ADDRESS, {"from": alice})
    ticket.list(token, GA_CAP, ZERO_ADDRESS, {"from": bob})
    ticket.buy(token, commitment(), {"from": carol, "value": GA_CAP})
    assert ticket.ownerOf(token) == carol
    assert ticket.movesOf(token) == 2
    # The first sale of the card ticket (at face) is held, royalty included, until the event.
    assert ticket.royaltyBalance() == model_split(GA_CAP, 500)[0]
    assert tuple(ticket.heldSale(token)) == (alice, GA_FACE)


def test_vip_royalty_split_rounds_in_the_sellers_favour(ticket, buy_primary, alice, bob):
    (token,) = buy_primary(alice, tier_id=VIP)
    price = VIP_FACE - 7  # 10 % royalty of a price that does not divide evenly
    ticket.list(token, price, ZERO_ADDRESS, {"from": alice})
    seller_before = alice.balance()
    tx = ticket.buy(token, commitment(), {"from": bob, "value": price})
    royalty, proceeds = model_split(price, 1_000)
    assert tx.events["Resold"]["royalty"] == royalty == price // 10
    assert royalty + proceeds == price
    assert alice.balance() - seller_before == proceeds
    assert ticket.royaltyBalance() == royalty


# ----------------------------------------------------------------------------- reserved and gifts


def test_reserved_listing_is_refused_to_anyone_else(ticket, token, alice, bob, carol):
    ticket.list(token, GA_FACE, bob, {"from": alice})
    with reverts("ReservedForAnother", token, bob):
        ticket.buy(token, commitment(), {"from": carol, "value": GA_FACE})
    ticket.buy(token, commitment(), {"from": bob, "value": GA_FACE})
    assert ticket.ownerOf(token) == bob


def test_gift_is_a_zero_price_listing_for_one_address(ticket, token, alice, bob, carol):
    ticket.list(token, 0, bob, {"from": alice})
    assert tuple(ticket.listing(token)) == (alice, 0, bob)
    with reverts("ReservedForAnother", token, bob):
        ticket.buy(token, commitment(), {"from": carol, "value": 0})
    with reverts("WrongPayment", 1, 0):
        ticket.buy(token, commitment(), {"from": bob, "value": 1})
    seller_before = alice.balance()
    gift_commitment = commitment()

    tx = ticket.buy(token, gift_commitment, {"from": bob, "value": 0})

    resold = tx.events["Resold"]
    assert (resold["seller"], resold["buyer"], resold["price"], resold["royalty"]) == (
        alice,
        bob,
        0,
        0,
    )
    assert as_bytes32_hex(resold["commitment"]) == gift_commitment
    assert ticket.ownerOf(token) == bob
    assert alice.balance() == seller_before
    assert ticket.royaltyBalance() == 0


# ----------------------------------------------------------------------------- commitments


def test_holder_rotates_the_commitment_while_resale_is_open(ticket, token, alice, bob, schedule):
    value = commitment()
    tx = ticket.rotateCommitment(token, value, {"from": alice})
    assert tx.events["CommitmentRotated"]["tokenId"] == token
    assert as_bytes32_hex(tx.events["CommitmentRotated"]["commitment"]) == value
    with reverts("NotTicketHolder", token, bob):
        ticket.rotateCommitment(token, commitment(), {"from": bob})
    with reverts("InvalidCommitment", ZERO_BYTES32):
        ticket.rotateCommitment(token, ZERO_BYTES32, {"from": alice})
    with reverts("InvalidCommitment", bytes32(FIELD)):
        ticket.rotateCommitment(token, bytes32(FIELD), {"from": alice})
    warp(schedule.resale_closes)
    with reverts("ResaleClosed", token):  # frozen for the gate's tree
        ticket.rotateCommitment(token, commitment(), {"from": alice})
