"""Cancellation, refunds by the current holder (once), and the organizer's proceeds: royalties at
any time, primary-sale escrow only after the event ended and never for a cancelled event.
"""

from __future__ import annotations

from .conftest import GA, GA_FACE, VIP, VIP_FACE, tier
from .helpers import ZERO_ADDRESS, commitment, gas_cost, model_split, reverts, warp

GA_CAP = GA_FACE * 11_000 // 10_000


def _resell(ticket, token, seller, buyer, price=GA_CAP):
    ticket.list(token, price, ZERO_ADDRESS, {"from": seller})
    return ticket.buy(token, commitment(), {"from": buyer, "value": price})


# ----------------------------------------------------------------------------- cancel


def test_cancel_closes_sales_resales_and_tier_changes(ticket, mint, organizer, alice, bob):
    (token,) = mint(alice)
    ticket.list(token, GA_FACE, ZERO_ADDRESS, {"from": alice})

    tx = ticket.cancel({"from": organizer})

    assert tx.events["EventCancelledBy"]["organizer"] == organizer
    assert [e["tierId"] for e in tx.events["ResaleWindowSet"]] == [GA, VIP]
    assert ticket.cancelled()
    assert ticket.locked(token)
    with reverts("ResaleClosed", token):
        ticket.buy(token, commitment(), {"from": bob, "value": GA_FACE})
    with reverts("ResaleClosed", token):
        ticket.list(token, GA_FACE, ZERO_ADDRESS, {"from": alice})
    with reverts("EventCancelled"):
        ticket.addTier(tier(GA_FACE, 1), {"from": organizer})
    with reverts("EventCancelled"):
        ticket.setResaleWindow(GA, 0, 2**40 - 1, {"from": organizer})
    with reverts("EventCancelled"):
        ticket.cancel({"from": organizer})


def test_only_the_organizer_cancels(ticket, minter, gate, alice):
    for account in (minter, gate, alice):
        with reverts("MissingRole", account, 0):
            ticket.cancel({"from": account})
    assert not ticket.cancelled()


def test_cancel_also_closes_a_window_that_had_not_opened(
    ticket, organizer, minter, alice, schedule
):
    later = schedule.now + 5 * 24 * 3600
    tx = ticket.addTier(tier(GA_FACE, 5, opens=later, closes=later + 3600), {"from": organizer})
    tier_id = tx.events["TierAdded"]["tierId"]
    token = ticket.mintBatch(tier_id, [(alice, "0x" + "ab" * 32, [commitment()])], {"from": minter})
    token = token.events["TicketsIssued"]["firstTokenId"]
    ticket.cancel({"from": organizer})
    warp(later + 60)
    with reverts("ResaleClosed", token):
        ticket.list(token, GA_FACE, ZERO_ADDRESS, {"from": alice})


# ----------------------------------------------------------------------------- refunds


def test_refunds_are_closed_until_cancellation(ticket, buy_primary, alice):
    (token,) = buy_primary(alice)
    with reverts("EventNotCancelled"):
        ticket.claimRefund([token], alice, {"from": alice})


def test_holder_claims_face_value_refund_exactly_once(ticket, buy_primary, organizer, alice):
    tokens = buy_primary(alice, 2) + buy_primary(alice, 1, tier_id=VIP)
    ticket.cancel({"from": organizer})
    before = alice.balance()

    tx = ticket.claimRefund(tokens, alice, {"from": alice})

    refunds = [(e["tokenId"], e["holder"], e["amount"]) for e in tx.events["RefundClaimed"]]
    assert refunds == [
        (t, alice, f) for t, f in zip(tokens, (GA_FACE, GA_FACE, VIP_FACE), strict=True)
    ]
    assert [(e["from"], e["to"]) for e in tx.events["Transfer"]] == [(alice, ZERO_ADDRESS)] * 3
    total = 2 * GA_FACE + VIP_FACE
    assert alice.balance() - before == total - gas_cost(tx)
    assert ticket.escrowBalance() == 0
    assert ticket.balance() == 0
    assert ticket.balanceOf(alice) == 0
    for token in tokens:
        with reverts("NonexistentTicket", token):
            ticket.ownerOf(token)
    # A second claim of the same ticket finds it burned: no double refund.
    with reverts("NonexistentTicket", tokens[0]):
        ticket.claimRefund([tokens[0]], alice, {"from": alice})
    with reverts("NonexistentTicket", tokens[1]):
        ticket.claimRefund([tokens[1], tokens[1]], alice, {"from": alice})


def test_the_same_ticket_twice_in_one_claim_is_refused(ticket, buy_primary, organizer, alice):
    (token,) = buy_primary(alice)
    ticket.cancel({"from": organizer})
    with reverts("NonexistentTicket", token):
        ticket.claimRefund([token, token], alice, {"from": alice})
    assert ticket.escrowBalance() == GA_FACE


def test_refund_follows_the_ticket_to_its_current_holder(
    ticket, buy_primary, organizer, alice, bob
):
    (token,) = buy_primary(alice)
    _resell(ticket, token, alice, bob)
    ticket.cancel({"from": organizer})
    with reverts("NotTicketHolder", token, alice):
        ticket.claimRefund([token], alice, {"from": alice})
    before = bob.balance()
    tx = ticket.claimRefund([token], bob, {"from": bob})
    assert bob.balance() - before == GA_FACE - gas_cost(tx)  # face value, not the resale price
    assert ticket.escrowBalance() == 0
    assert ticket.royaltyBalance() == model_split(GA_CAP, 500)[0]


def test_card_tickets_are_not_refunded_on_chain(ticket, mint, buy_primary, organizer, alice):
    (card,) = mint(alice)
    (eth,) = buy_primary(alice)
    ticket.cancel({"from": organizer})
    with reverts("NotRefundable", card):
        ticket.claimRefund([eth, card], alice, {"from": alice})
    assert ticket.ownerOf(eth) == alice  # the whole claim was undone
    with reverts("NothingToWithdraw"):
        ticket.claimRefund([], alice, {"from": alice})


# ----------------------------------------------------------------------------- proceeds


def test_escrow_stays_until_the_event_ends(ticket, buy_primary, organizer, alice, bob, schedule):
    (token,) = buy_primary(alice, 3)[:1]
    with reverts("NothingToWithdraw"):
        ticket.withdrawProceeds(organizer, {"from": organizer})
    _resell(ticket, token, alice, bob)
    royalty = model_split(GA_CAP, 500)[0]

    tx = ticket.withdrawProceeds(organizer, {"from": organizer})  # royalties only, before the end

    assert (
        tx.events["ProceedsWithdrawn"]["royalties"],
        tx.events["ProceedsWithdrawn"]["escrow"],
    ) == (
        royalty,
        0,
    )
    assert ticket.escrowBalance() == 3 * GA_FACE
    warp(schedule.ends - 60)
    with reverts("NothingToWithdraw"):
        ticket.withdrawProceeds(organizer, {"from": organizer})
    warp(schedule.ends)
    before = organizer.balance()

    tx = ticket.withdrawProceeds(organizer, {"from": organizer})

    assert tx.events["ProceedsWithdrawn"]["escrow"] == 3 * GA_FACE
    assert organizer.balance() - before == 3 * GA_FACE - gas_cost(tx)
    assert ticket.escrowBalance() == 0
    assert ticket.balance() == 0


def test_proceeds_go_to_the_named_receiver(ticket, buy_primary, organizer, alice, carol, schedule):
    buy_primary(alice, 2)
    warp(schedule.ends)
    before = carol.balance()
    ticket.withdrawProceeds(carol, {"from": organizer})
    assert carol.balance() - before == 2 * GA_FACE


def test_cancelled_event_never_releases_escrow(
    ticket, buy_primary, organizer, alice, bob, schedule
):
    tokens = buy_primary(alice, 2)
    _resell(ticket, tokens[0], alice, bob)
    ticket.cancel({"from": organizer})
    warp(schedule.ends + 1)
    tx = ticket.withdrawProceeds(organizer, {"from": organizer})
    assert tx.events["ProceedsWithdrawn"]["escrow"] == 0
    assert ticket.escrowBalance() == 2 * GA_FACE
    with reverts("NothingToWithdraw"):
        ticket.withdrawProceeds(organizer, {"from": organizer})
    ticket.claimRefund([tokens[0]], bob, {"from": bob})
    ticket.claimRefund([tokens[1]], alice, {"from": alice})
    assert ticket.escrowBalance() == 0
    assert ticket.balance() == 0


def test_only_the_organizer_withdraws(ticket, minter, alice):
    for account in (minter, alice):
        with reverts("MissingRole", account, 0):
            ticket.withdrawProceeds(account, {"from": account})


def test_withdraw_to_a_receiver_that_rejects_fails_whole(
    ticket, buy_primary, hostile_holder, organizer, alice, schedule
):
    buy_primary(alice, 2)
    warp(schedule.ends)
    hostile_holder.configure(b"", True, {"from": alice})
    with reverts("PaymentFailed", hostile_holder, 2 * GA_FACE):
        ticket.withdrawProceeds(hostile_holder, {"from": organizer})
    assert ticket.escrowBalance() == 2 * GA_FACE


def test_event_cannot_be_cancelled_after_it_ended(ticket, buy_primary, organizer, alice, schedule):
    (token,) = buy_primary(alice)
    warp(schedule.ends)
    ticket.withdrawProceeds(organizer, {"from": organizer})
    with reverts("SalesClosed"):
        ticket.cancel({"from": organizer})
    # Were the cancel accepted, this refund would have no escrow behind it.
    assert ticket.escrowBalance() == 0
    assert ticket.ownerOf(token) == alice
