"""The value leaks of issue 9 (items 1, 2, 3 and 5), each played as the attacker did, now
failing to profit:

1. a card buyer shields a ticket from the chargeback (a 1-wei sale to a second wallet, a gift, a
   plain transfer): the first paid sale of a card ticket is at least at face value and its face
   value is held until the event has happened; a chargeback sends it into the ticket's escrow
   (the organizer's), never to the payer, and the good-faith buyer keeps the ticket. The seller
   has the rest of its proceeds at the sale (the markup above face, less its royalty: at most
   what the cap allows), as a pull balance;
2. cancellation with a resold card ticket: the market buyer (the current holder) claims the face
   value on-chain, the bridge can only refund the card, never also revoke the ticket; a card
   ticket given away (never sold) is funded on-chain by the bridge (``fundGiftRefunds``) and claimed
   by its holder, once;
3. the cap bypassed through a helper contract taking a reserved gift, listing or order and paying
   the seller on the side in the same transaction: a reserved offer is taken by an EOA only;
5. refunds to a named recipient, a refund deadline, and the unclaimed escrow swept to the
   organizer after it.

Alice is the card buyer, Bob her second wallet (or a buyer), Carol a good-faith market buyer.
"""

from __future__ import annotations

import pytest

from .conftest import GA_FACE
from .helpers import (
    DAY,
    FREE,
    ZERO_ADDRESS,
    commitment,
    compact,
    gas_cost,
    model_split,
    order_terms,
    reverts,
    sign_order,
    warp,
)

GA_CAP = GA_FACE * 11_000 // 10_000
ROYALTY_BPS = 500
REFUND_PERIOD = 180 * DAY


@pytest.fixture(scope="module")
def helper(CapBypassHelper, deployer):
    return CapBypassHelper.deploy({"from": deployer})


def _sell(ticket, token, seller, buyer, price):
    ticket.list(token, price, ZERO_ADDRESS, {"from": seller})
    return ticket.buy(token, commitment(), {"from": buyer, "value": price})


def _first_sale(price):
    """A card ticket's first paid sale at `price` (royalty ROYALTY_BPS): (the organizer's
    royalty at the sale, the seller's pull balance at the sale). The held face value's own
    royalty and proceeds are paid when it is released."""
    royalty, proceeds = model_split(price, ROYALTY_BPS)
    face_royalty, face_proceeds = model_split(GA_FACE, ROYALTY_BPS)
    return royalty - face_royalty, proceeds - face_proceeds


def _organizer_value(ticket):
    """What the organizer can withdraw now plus the escrow it gets when the event happens."""
    return ticket.royaltyBalance() + ticket.escrowBalance()


# ----------------------------------------------------------------------------- 1. chargebacks


def test_a_1_wei_sale_to_a_second_wallet_is_refused(ticket, mint, alice, bob):
    """The attack: list the card ticket at 1 wei to one's own second wallet, buy it, dispute the
    card. The first paid sale of a card ticket must be at least at face value."""
    (token,) = mint(alice)
    ticket.list(token, 1, bob, {"from": alice})
    with reverts("PriceBelowFace", 1, GA_FACE):
        ticket.buy(token, commitment(), {"from": bob, "value": 1})
    assert ticket.ownerOf(token) == alice


def test_a_self_sale_at_face_then_a_chargeback_leaves_the_payer_nothing(
    ticket, mint, minter, organizer, alice, bob, schedule
):
    """At face value the self-sale goes through, but its price is held: on the chargeback it
    goes to the organizer, so the payer's second wallet holds a ticket it paid face value for
    in ETH, and the seller wallet gets nothing."""
    (token,) = mint(alice)
    alice_before = alice.balance()
    listed = ticket.list(token, GA_FACE, bob, {"from": alice})
    bought = ticket.buy(token, commitment(), {"from": bob, "value": GA_FACE})
    assert tuple(ticket.heldSale(token)) == (alice, GA_FACE)
    assert ticket.royaltyBalance() == 0  # the royalty is held too

    tx = ticket.revoke([token], {"from": minter})  # the chargeback of Alice's card

    assert "TicketRevoked" not in tx.events
    settled = tx.events["HeldSaleSettled"]
    assert (settled["seller"], settled["toSeller"]) == (alice, 0)
    assert (settled["toOrganizer"], settled["toEscrow"]) == (0, GA_FACE)
    assert alice.balance() == alice_before - gas_cost(listed)  # no proceeds, ever
    assert ticket.ownerOf(token) == bob and ticket.paidInEth(token)
    # The organizer lost the card's face value and holds it again (escrow, paid at the end).
    assert _organizer_value(ticket) == GA_FACE
    with reverts("PaidInEth", token):  # a second chargeback claim changes nothing
        ticket.revoke([token], {"from": minter})
    warp(schedule.ends)
    with reverts("NothingToWithdraw"):
        ticket.settleHeld([token], {"from": alice})
    before = organizer.balance()
    withdrawn = ticket.withdrawProceeds(organizer, {"from": organizer})
    assert organizer.balance() - before == GA_FACE - gas_cost(withdrawn)
    assert gas_cost(bought) > 0


def test_a_good_faith_buyer_keeps_the_ticket_and_the_organizer_is_made_whole(
    ticket, mint, minter, alice, carol
):
    """The organizer gets the lost face value back (into the ticket's escrow); the seller kept
    what the sale paid it beyond face, which the cap bounds."""
    (token,) = mint(alice)
    _sell(ticket, token, alice, carol, GA_CAP)
    royalty_now, owed = _first_sale(GA_CAP)
    assert ticket.pendingOf(alice) == owed > 0
    tx = ticket.revoke([token], {"from": minter})
    assert ticket.ownerOf(token) == carol
    settled = tx.events["HeldSaleSettled"]
    assert (settled["toSeller"], settled["toOrganizer"], settled["toEscrow"]) == (0, 0, GA_FACE)
    assert _organizer_value(ticket) == GA_FACE + royalty_now
    assert ticket.balance() == GA_CAP  # Alice has not withdrawn her pull balance yet
    assert ticket.pendingOf(alice) == owed


@pytest.mark.parametrize("how", ["gift", "free-transfer"])
def test_a_gift_or_plain_transfer_never_protects_a_card_ticket(
    create_event, minter, organizer, alice, bob, how
):
    ticket = create_event(policy=FREE)
    tx = ticket.mintBatch(0, [(alice, "0x" + "77" * 32, [commitment()])], {"from": minter})
    token = tx.events["TicketsIssued"]["firstTokenId"]
    if how == "gift":
        ticket.list(token, 0, bob, {"from": alice})
        ticket.buy(token, commitment(), {"from": bob, "value": 0})
    else:
        ticket.transferFrom(alice, bob, token, {"from": alice})
    assert ticket.ownerOf(token) == bob
    revoked = ticket.revoke([token], {"from": minter})
    assert revoked.events["TicketRevoked"]["tokenId"] == token
    assert ticket.balanceOf(bob) == 0


def test_the_giftee_who_sells_forfeits_the_held_face_value_on_the_chargeback(
    ticket, mint, minter, alice, bob, carol
):
    (token,) = mint(alice)
    ticket.list(token, 0, bob, {"from": alice})
    ticket.buy(token, commitment(), {"from": bob, "value": 0})
    _sell(ticket, token, bob, carol, GA_CAP)
    assert tuple(ticket.heldSale(token)) == (bob, GA_FACE)
    assert ticket.pendingOf(bob) == _first_sale(GA_CAP)[1]
    tx = ticket.revoke([token], {"from": minter})
    assert (tx.events["HeldSaleSettled"]["seller"], tx.events["HeldSaleSettled"]["toSeller"]) == (
        bob,
        0,
    )
    assert ticket.ownerOf(token) == carol


def test_without_a_chargeback_the_held_face_value_is_paid_once_the_event_has_happened(
    ticket, mint, minter, alice, bob, carol, schedule
):
    (token,) = mint(alice)
    _sell(ticket, token, alice, bob, GA_CAP)
    _sell(ticket, token, bob, carol, GA_CAP)  # later sales are paid at once, never held
    assert tuple(ticket.heldSale(token)) == (alice, GA_FACE)
    _, owed = _first_sale(GA_CAP)
    before = alice.balance()
    withdrawn = ticket.withdrawPending({"from": alice})  # the rest of her proceeds, at once
    assert alice.balance() - before == owed - gas_cost(withdrawn)
    assert ticket.pendingOf(alice) == 0
    with reverts("StillHeld", token):
        ticket.settleHeld([token], {"from": alice})
    warp(schedule.ends)
    before = alice.balance()
    tx = ticket.settleHeld([token], {"from": carol})  # anyone may settle
    face_royalty, face_proceeds = model_split(GA_FACE, ROYALTY_BPS)
    assert alice.balance() - before == face_proceeds
    assert tx.events["HeldSaleSettled"]["toOrganizer"] == face_royalty
    royalty, _ = model_split(GA_CAP, ROYALTY_BPS)
    assert ticket.royaltyBalance() == 2 * royalty  # in all, both sales paid their royalty
    assert tuple(ticket.heldSale(token)) == (ZERO_ADDRESS, 0)
    with reverts("NotAuthorized", token, minter):  # a late chargeback takes nothing back
        ticket.revoke([token], {"from": minter})
    with reverts("NothingToWithdraw"):
        ticket.settleHeld([token], {"from": carol})


def test_an_eth_ticket_sale_is_never_held(ticket, buy_primary, alice, bob):
    (token,) = buy_primary(alice)
    before = alice.balance()
    _sell(ticket, token, alice, bob, GA_FACE // 2)  # below face is fine: nothing to protect
    assert alice.balance() - before > 0
    assert tuple(ticket.heldSale(token)) == (ZERO_ADDRESS, 0)


# ----------------------------------------------------------------------------- 2. cancellation


def test_cancellation_refunds_the_market_buyer_and_the_bridge_cannot_also_revoke(
    ticket, mint, minter, organizer, alice, carol
):
    """The attack: the bridge refunded Alice's card and revoked the ticket from Carol, who paid
    up to the cap and got nothing. Now the revocation is refused, Carol claims the face value
    (held from her purchase), and Alice keeps the proceeds beyond face value that the sale gave
    her (the bridge refunds her card)."""
    (token,) = mint(alice)
    _sell(ticket, token, alice, carol, GA_CAP)
    ticket.cancel({"from": organizer})
    with reverts("NotAuthorized", token, minter):
        ticket.revoke([token], {"from": minter})

    alice_before, carol_before = alice.balance(), carol.balance()
    tx = ticket.claimRefund([token], carol, {"from": carol})

    assert carol.balance() - carol_before == GA_FACE - gas_cost(tx)
    royalty_now, owed = _first_sale(GA_CAP)
    assert alice.balance() == alice_before
    assert ticket.pendingOf(alice) == owed
    settled = tx.events["HeldSaleSettled"]
    assert (settled["toSeller"], settled["toOrganizer"], settled["toEscrow"]) == (0, 0, GA_FACE)
    assert ticket.royaltyBalance() == royalty_now
    assert ticket.balance() == royalty_now + owed
    assert ticket.escrowBalance() == 0
    with reverts("NonexistentTicket", token):  # exactly once
        ticket.claimRefund([token], carol, {"from": carol})


def test_cancellation_at_face_gives_the_seller_nothing_beyond_the_card_refund(
    ticket, mint, organizer, alice, carol
):
    (token,) = mint(alice)
    _sell(ticket, token, alice, carol, GA_FACE)
    ticket.cancel({"from": organizer})
    alice_before = alice.balance()
    tx = ticket.claimRefund([token], carol, {"from": carol})
    assert alice.balance() == alice_before  # price - face = 0 left: no royalty either
    assert tx.events["HeldSaleSettled"]["toOrganizer"] == 0
    assert ticket.balance() == 0


def test_a_ticket_resold_twice_refunds_its_last_buyer(
    ticket, mint, organizer, alice, bob, carol, minter
):
    (token,) = mint(alice)
    _sell(ticket, token, alice, bob, GA_CAP)
    _sell(ticket, token, bob, carol, GA_FACE)
    ticket.cancel({"from": organizer})
    with reverts("NotTicketHolder", token, bob):
        ticket.claimRefund([token], bob, {"from": bob})
    ticket.claimRefund([token], carol, {"from": carol})
    assert ticket.escrowBalance() == 0
    assert ticket.balance() == ticket.royaltyBalance() + ticket.pendingOf(alice)


def test_after_a_chargeback_and_a_cancellation_the_holder_is_refunded_from_escrow(
    ticket, mint, minter, organizer, alice, carol
):
    (token,) = mint(alice)
    _sell(ticket, token, alice, carol, GA_CAP)
    ticket.revoke([token], {"from": minter})
    ticket.cancel({"from": organizer})
    with reverts("PaidInEth", token):
        ticket.revoke([token], {"from": minter})
    before = carol.balance()
    tx = ticket.claimRefund([token], carol, {"from": carol})
    assert carol.balance() - before == GA_FACE - gas_cost(tx)
    royalty_now, owed = _first_sale(GA_CAP)
    assert ticket.royaltyBalance() == royalty_now
    assert (
        ticket.balance() == royalty_now + owed == ticket.royaltyBalance() + ticket.pendingOf(alice)
    )


def test_cancellation_still_revokes_unsold_card_tickets(ticket, mint, minter, organizer, alice):
    (token,) = mint(alice)
    ticket.cancel({"from": organizer})
    with reverts("NotRefundable", token):
        ticket.claimRefund([token], alice, {"from": alice})
    assert ticket.revoke([token], {"from": minter}).events["TicketRevoked"]["tokenId"] == token


def _gift(ticket, token, giver, receiver):
    ticket.list(token, 0, receiver, {"from": giver})
    return ticket.buy(token, commitment(), {"from": receiver, "value": 0})


def test_a_gifted_card_ticket_is_refunded_to_its_holder_from_the_bridge_funding(
    ticket, mint, minter, organizer, alice, bob
):
    """The gap: the bridge refunded Alice's card and revoked the ticket she had given to Bob,
    who got nothing. Now the bridge funds the face value on-chain (and does not refund Alice's
    card): Bob claims it, once, and the ticket can no longer be revoked."""
    (token,) = mint(alice)
    _gift(ticket, token, alice, bob)
    ticket.cancel({"from": organizer})
    with reverts("NotRefundable", token):  # not before the bridge funds it
        ticket.claimRefund([token], bob, {"from": bob})

    tx = ticket.fundGiftRefunds([token], {"from": minter, "value": GA_FACE})

    assert (tx.events["RefundFunded"]["tokenId"], tx.events["RefundFunded"]["amount"]) == (
        token,
        GA_FACE,
    )
    assert ticket.paidInEth(token) and ticket.escrowBalance() == GA_FACE
    with reverts("PaidInEth", token):  # funded once
        ticket.fundGiftRefunds([token], {"from": minter, "value": GA_FACE})
    with reverts("PaidInEth", token):  # a chargeback can no longer take it
        ticket.revoke([token], {"from": minter})
    before = bob.balance()
    claim = ticket.claimRefund([token], bob, {"from": bob})
    assert bob.balance() - before == GA_FACE - gas_cost(claim)
    assert ticket.balance() == ticket.escrowBalance() == 0
    with reverts("NonexistentTicket", token):  # claimed once
        ticket.claimRefund([token], bob, {"from": bob})
    with reverts("NonexistentTicket", token):
        ticket.fundGiftRefunds([token], {"from": minter, "value": GA_FACE})


def test_funding_refunds_is_refused_outside_its_one_case(
    ticket, mint, buy_primary, minter, organizer, alice, bob, carol, schedule
):
    (gifted, sold) = mint(alice, 2)
    (eth,) = buy_primary(alice)
    _gift(ticket, gifted, alice, bob)
    _sell(ticket, sold, alice, carol, GA_CAP)
    with reverts("EventNotCancelled"):
        ticket.fundGiftRefunds([gifted], {"from": minter, "value": GA_FACE})
    ticket.cancel({"from": organizer})
    with reverts("MissingRole", bob, 1):
        ticket.fundGiftRefunds([gifted], {"from": bob, "value": GA_FACE})
    with reverts("WrongPayment", GA_FACE - 1, GA_FACE):
        ticket.fundGiftRefunds([gifted], {"from": minter, "value": GA_FACE - 1})
    with reverts("WrongPayment", 2 * GA_FACE, GA_FACE):
        ticket.fundGiftRefunds([gifted], {"from": minter, "value": 2 * GA_FACE})
    with reverts("PaidInEth", eth):
        ticket.fundGiftRefunds([eth], {"from": minter, "value": GA_FACE})
    with reverts("NotRefundable", sold):  # its held price refunds its holder
        ticket.fundGiftRefunds([sold], {"from": minter, "value": GA_FACE})
    with reverts("PaidInEth", gifted):  # the same ticket twice in one call
        ticket.fundGiftRefunds([gifted, gifted], {"from": minter, "value": 2 * GA_FACE})
    warp(ticket.refundDeadline() + 1)
    with reverts("RefundDeadlinePassed", ticket.refundDeadline()):
        ticket.fundGiftRefunds([gifted], {"from": minter, "value": GA_FACE})
    assert ticket.escrowBalance() == GA_FACE  # Alice's ETH ticket only


def test_a_resold_then_gifted_card_ticket_is_refunded_to_its_holder_from_the_held_face_value(
    ticket, mint, minter, organizer, alice, bob, carol
):
    (token,) = mint(alice)
    _sell(ticket, token, alice, carol, GA_CAP)
    _gift(ticket, token, carol, bob)
    ticket.cancel({"from": organizer})
    with reverts("NotRefundable", token):
        ticket.fundGiftRefunds([token], {"from": minter, "value": GA_FACE})
    before = bob.balance()
    tx = ticket.claimRefund([token], bob, {"from": bob})
    assert bob.balance() - before == GA_FACE - gas_cost(tx)
    assert tx.events["HeldSaleSettled"]["toEscrow"] == GA_FACE
    royalty_now, owed = _first_sale(GA_CAP)
    assert ticket.royaltyBalance() == royalty_now
    assert (
        ticket.balance() == royalty_now + owed == ticket.royaltyBalance() + ticket.pendingOf(alice)
    )


# ----------------------------------------------------------------------------- 3. cap bypass


def test_a_helper_contract_cannot_take_a_gift_and_pay_the_seller_on_the_side(
    ticket, mint, helper, alice, bob
):
    (token,) = mint(alice)
    ticket.list(token, 0, helper, {"from": alice})
    alice_before = alice.balance()
    side_payment = 5 * 10**18  # against a cap of 0.11 ETH
    with reverts("TakerNotExternallyOwned", helper):
        helper.takeListing(
            ticket, token, 0, commitment(), alice, {"from": bob, "value": side_payment}
        )
    assert ticket.ownerOf(token) == alice
    assert alice.balance() == alice_before


def test_a_helper_contract_cannot_take_a_reserved_listing_at_the_cap_either(
    ticket, buy_primary, helper, alice, bob
):
    (token,) = buy_primary(alice)
    ticket.list(token, GA_CAP, helper, {"from": alice})
    with reverts("TakerNotExternallyOwned", helper):
        helper.takeListing(
            ticket, token, GA_CAP, commitment(), alice, {"from": bob, "value": 10**18}
        )
    assert ticket.ownerOf(token) == alice


def test_a_helper_contract_cannot_take_a_signed_gift_order(ticket, mint, helper, alice, bob):
    (token,) = mint(alice)
    order = {
        "tokenId": token,
        "price": 0,
        "reservedFor": helper.address,
        "moves": ticket.movesOf(token),
        "nonce": ticket.orderNonce(alice),
        "deadline": 2**40,
    }
    signature = sign_order(alice.private_key, ticket, order)
    with reverts("TakerNotExternallyOwned", helper):
        helper.takeOrder(
            ticket,
            order_terms(order),
            *compact(signature),
            commitment(),
            alice,
            {"from": bob, "value": 10**18},
        )
    assert ticket.ownerOf(token) == alice


def test_an_open_listing_can_still_be_bought_through_a_contract(
    ticket, buy_primary, helper, alice, bob
):
    """An open listing is not the bypass: anyone may take it at its capped price, so the seller
    cannot count on a side payment. Contract wallets keep buying open listings."""
    (token,) = buy_primary(alice)
    ticket.list(token, GA_CAP, ZERO_ADDRESS, {"from": alice})
    helper.takeListing(ticket, token, GA_CAP, commitment(), alice, {"from": bob, "value": GA_CAP})
    assert ticket.ownerOf(token) == helper


# ----------------------------------------------------------------------------- 5. refunds


def test_a_holder_contract_that_rejects_eth_names_another_recipient(
    ticket, hostile_holder, organizer, deployer, alice
):
    hostile_holder.act(
        ticket.purchase.encode_input(0, [commitment()]), {"from": deployer, "value": GA_FACE}
    )
    ticket.cancel({"from": organizer})
    hostile_holder.configure(b"", True, {"from": deployer})
    before = alice.balance()
    tx = hostile_holder.act(ticket.claimRefund.encode_input([0], alice), {"from": deployer})
    assert alice.balance() - before == GA_FACE
    event = tx.events["RefundClaimed"]
    assert (event["holder"], event["to"], event["amount"]) == (hostile_holder, alice, GA_FACE)
    with reverts("InvalidReceiver", ZERO_ADDRESS):
        ticket.claimRefund([0], ZERO_ADDRESS, {"from": alice})


def test_refunds_close_at_the_deadline_and_the_rest_is_swept_to_the_organizer(
    ticket, buy_primary, mint, organizer, alice, bob, carol, schedule
):
    claimed, unclaimed = buy_primary(alice, 2)
    (card,) = mint(bob)
    _sell(ticket, card, bob, carol, GA_CAP)  # a held sale nobody settles in time
    ticket.cancel({"from": organizer})
    deadline = ticket.refundDeadline()
    assert deadline == schedule.ends + REFUND_PERIOD
    warp(deadline - 60)
    ticket.claimRefund([claimed], alice, {"from": alice})
    royalty_now, owed = _first_sale(GA_CAP)
    early = ticket.withdrawProceeds(organizer, {"from": organizer})  # royalties only: no sweep
    assert (
        early.events["ProceedsWithdrawn"]["royalties"],
        early.events["ProceedsWithdrawn"]["escrow"],
    ) == (
        royalty_now,
        0,
    )
    with reverts("NothingToWithdraw"):
        ticket.withdrawProceeds(organizer, {"from": organizer})
    warp(deadline + 1)
    with reverts("RefundDeadlinePassed", deadline):
        ticket.claimRefund([unclaimed], alice, {"from": alice})

    tx = ticket.withdrawProceeds(organizer, {"from": organizer})

    assert tx.events["ProceedsWithdrawn"]["escrow"] == GA_FACE
    # The held sale still settles: its face value goes to escrow, swept to the organizer; its
    # seller had the rest of its proceeds at the sale.
    settled = ticket.settleHeld([card], {"from": bob}).events["HeldSaleSettled"]
    assert (settled["toSeller"], settled["toEscrow"]) == (0, GA_FACE)
    bob_before = bob.balance()
    withdrawn = ticket.withdrawPending({"from": bob})
    assert bob.balance() - bob_before == owed - gas_cost(withdrawn)
    swept = ticket.withdrawProceeds(organizer, {"from": organizer})
    assert swept.events["ProceedsWithdrawn"]["escrow"] == GA_FACE
    assert ticket.balance() == 0
