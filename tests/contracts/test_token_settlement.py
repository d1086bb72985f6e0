"""Events that settle in an ERC-20 stablecoin: every money path of the ticket contract in the
token (primary purchase, resale by listing and by signed order, royalty, escrow, cancellation
refunds and the refund-deadline sweep, held first-sale prices of card tickets, pull balances and
withdrawals), with the resale cap on every path; EIP-2612 permits (one transaction); tokens that
return no boolean (TetherLikeToken: SafeERC20) and whose receivers can be blocklisted (a push
falls back to a pull balance); fee-on-transfer tokens refused (FeeOnTransferToken); and an
18-decimal token beside the 6-decimal one.

The same rules in ETH are tested in test_market.py, test_orders.py and test_refunds.py; the
stateful test (test_invariants.py) runs its machine in both currencies.
"""

from __future__ import annotations

from typing import Any

import brownie
import pytest

from .conftest import GA, VIP, tier
from .helpers import (
    DAY,
    ZERO_ADDRESS,
    commitment,
    commitments,
    compact,
    model_split,
    order_ref,
    order_terms,
    reverts,
    sign_order,
    warp,
)
from .test_settlement import _permit

USD = 10**6
GA_FACE = 50 * USD  # 50 FUSD
VIP_FACE = 120 * USD + 7  # an odd amount: rounding in every split
GA_CAP = GA_FACE * 11_000 // 10_000


@pytest.fixture(scope="module")
def usd(TestStablecoin: Any, deployer: Any) -> Any:
    return TestStablecoin.deploy("Fairgate Test USD", "FUSD", 6, {"from": deployer})


@pytest.fixture(scope="module")
def tiers(schedule: Any) -> list[tuple[int, ...]]:
    closes = schedule.resale_closes
    return [
        tier(GA_FACE, 100, cap_bps=11_000, royalty_bps=500, closes=closes),
        tier(VIP_FACE, 10, cap_bps=10_000, royalty_bps=1_000, closes=closes),
    ]


@pytest.fixture(scope="module")
def event_in(create_event: Any, tiers: list, fans: list, organizer: Any) -> Any:
    """An event settling in `token`; every fan holds 10,000 of it and approved the event."""

    def _create(token: Any, face_scale: int = 1) -> Any:
        scaled = [(t[0] * face_scale, *t[1:]) for t in tiers]
        event = create_event(tiers=scaled, currency=token)
        for fan in [*fans, organizer]:
            token.mint(fan, 10_000 * USD * face_scale, {"from": fan})
            token.approve(event, 2**255, {"from": fan})
        return event

    return _create


@pytest.fixture(scope="module")
def ticket(event_in: Any, usd: Any) -> Any:
    """The module's event, in the 6-decimal test stablecoin."""
    return event_in(usd)


def _buy(ticket: Any, buyer: Any, n: int = 1, tier_id: int = GA) -> list[int]:
    tx = ticket.purchase(tier_id, commitments(n), {"from": buyer})
    first = tx.events["TicketsIssued"][0]["firstTokenId"]
    return list(range(first, first + n))


# ----------------------------------------------------------------------------- creation


def test_the_currency_is_chosen_at_creation(ticket: Any, usd: Any, create_event: Any) -> None:
    assert ticket.currency() == usd
    assert create_event().currency() == ZERO_ADDRESS


def test_a_currency_without_code_is_refused(create_event: Any, stranger: Any) -> None:
    with reverts("UnsupportedCurrency", stranger):
        create_event(currency=stranger)


# ----------------------------------------------------------------------------- primary sale


def test_purchase_takes_the_token_into_escrow(ticket: Any, usd: Any, alice: Any) -> None:
    before = usd.balanceOf(alice)
    tokens = _buy(ticket, alice, 2) + _buy(ticket, alice, 1, VIP)
    assert [ticket.ownerOf(t) for t in tokens] == [alice] * 3
    assert usd.balanceOf(alice) == before - 2 * GA_FACE - VIP_FACE
    assert usd.balanceOf(ticket) == ticket.escrowBalance() == 2 * GA_FACE + VIP_FACE
    assert ticket.paidInEth(tokens[0])  # paid on-chain: escrow-backed, refundable


def test_purchase_refuses_ether_beside_the_token(ticket: Any, alice: Any) -> None:
    with reverts("WrongPayment", 1, 0):
        ticket.purchase(GA, commitments(1), {"from": alice, "value": 1})


def test_purchase_without_allowance_moves_nothing(ticket: Any, usd: Any, alice: Any) -> None:
    usd.approve(ticket, GA_FACE - 1, {"from": alice})
    with pytest.raises(brownie.exceptions.VirtualMachineError):
        ticket.purchase(GA, commitments(1), {"from": alice})
    assert ticket.nextTokenId() == 0 and usd.balanceOf(ticket) == 0


def test_a_permit_buys_in_one_transaction(ticket: Any, usd: Any, alice: Any) -> None:
    usd.approve(ticket, 0, {"from": alice})
    data = ticket.purchase.encode_input(GA, commitments(2))
    permit = _permit(usd, alice, ticket, 2 * GA_FACE)
    tx = ticket.permitAndCall((2 * GA_FACE, *permit), data, {"from": alice})
    assert tx.events["TicketsIssued"][0]["holder"] == alice
    assert ticket.balanceOf(alice) == 2
    assert usd.allowance(alice, ticket) == 0  # the permit was spent whole
    assert ticket.escrowBalance() == 2 * GA_FACE


def test_a_permit_on_an_ether_event_is_refused(create_event: Any, usd: Any, alice: Any) -> None:
    event = create_event()
    data = event.purchase.encode_input(GA, commitments(1))
    with reverts("UnsupportedCurrency", ZERO_ADDRESS):
        event.permitAndCall((1, *_permit(usd, alice, event, 1)), data, {"from": alice})


# ----------------------------------------------------------------------------- resale


def test_resale_pays_royalty_and_seller_in_the_token(
    ticket: Any, usd: Any, alice: Any, bob: Any
) -> None:
    (token,) = _buy(ticket, alice)
    ticket.list(token, GA_CAP, ZERO_ADDRESS, {"from": alice})
    seller_before, buyer_before = usd.balanceOf(alice), usd.balanceOf(bob)
    tx = ticket.buy(token, commitment(), {"from": bob})
    royalty, proceeds = model_split(GA_CAP, 500)
    assert tx.events["Resold"]["royalty"] == royalty
    assert usd.balanceOf(alice) == seller_before + proceeds
    assert usd.balanceOf(bob) == buyer_before - GA_CAP
    assert ticket.royaltyBalance() == royalty
    assert ticket.escrowBalance() == GA_FACE  # the primary sale's escrow is untouched


def test_the_cap_holds_on_every_path(ticket: Any, alice: Any, bob: Any, chain: Any) -> None:
    (token,) = _buy(ticket, alice)
    with reverts("PriceAboveCap", GA_CAP + 1, GA_CAP):
        ticket.list(token, GA_CAP + 1, ZERO_ADDRESS, {"from": alice})
    order = {
        "tokenId": token,
        "price": GA_CAP + 1,
        "reservedFor": ZERO_ADDRESS,
        "moves": ticket.movesOf(token),
        "nonce": ticket.orderNonce(alice),
        "deadline": chain.time() + DAY,
    }
    signature = sign_order(alice.private_key, ticket, order)
    with reverts("PriceAboveCap", GA_CAP + 1, GA_CAP):
        ticket.buyWithOrder(order_terms(order), *compact(signature), commitment(), {"from": bob})


def test_a_signed_order_with_a_permit_in_one_transaction(
    ticket: Any, usd: Any, alice: Any, bob: Any, chain: Any
) -> None:
    (token,) = _buy(ticket, alice)
    usd.approve(ticket, 0, {"from": bob})
    order = {
        "tokenId": token,
        "price": GA_CAP,
        "reservedFor": ZERO_ADDRESS,
        "moves": ticket.movesOf(token),
        "nonce": ticket.orderNonce(alice),
        "deadline": chain.time() + DAY,
    }
    signature = sign_order(alice.private_key, ticket, order)
    data = ticket.buyWithOrder.encode_input(order_terms(order), *compact(signature), commitment())
    seller_before = usd.balanceOf(alice)
    ticket.permitAndCall((GA_CAP, *_permit(usd, bob, ticket, GA_CAP)), data, {"from": bob})
    assert ticket.ownerOf(token) == bob
    assert usd.balanceOf(alice) == seller_before + model_split(GA_CAP, 500)[1]


def test_a_blocklisted_seller_is_paid_through_a_pull_balance(
    event_in: Any, TetherLikeToken: Any, deployer: Any, alice: Any, bob: Any
) -> None:
    """TetherLikeToken returns no boolean (SafeERC20 handles it) and blocklists accounts: the push
    to a blocked seller fails, so the sale goes through and the seller pulls later."""
    tether = TetherLikeToken.deploy({"from": deployer})
    event = event_in(tether)
    (token,) = _buy(event, alice)
    event.list(token, GA_CAP, ZERO_ADDRESS, {"from": alice})
    tether.setBlocked(alice, True, {"from": deployer})
    tx = event.buy(token, commitment(), {"from": bob})
    proceeds = model_split(GA_CAP, 500)[1]
    assert tx.events["PaymentDeferred"]["amount"] == proceeds
    assert event.pendingOf(alice) == proceeds
    with reverts("PaymentFailed", alice, proceeds):
        event.withdrawPending({"from": alice})
    tether.setBlocked(alice, False, {"from": deployer})
    before = tether.balanceOf(alice)
    event.withdrawPending({"from": alice})
    assert tether.balanceOf(alice) == before + proceeds
    assert event.pendingOf(alice) == 0


def test_a_fee_on_transfer_token_is_refused(
    event_in: Any, FeeOnTransferToken: Any, deployer: Any, alice: Any
) -> None:
    fot = FeeOnTransferToken.deploy({"from": deployer})
    event = event_in(fot)
    with reverts("FeeOnTransferToken", fot, GA_FACE, GA_FACE - GA_FACE // 100):
        event.purchase(GA, commitments(1), {"from": alice})


def test_an_18_decimal_token_settles_the_same(
    event_in: Any, TestStablecoin: Any, deployer: Any, alice: Any, bob: Any
) -> None:
    dai = TestStablecoin.deploy("Fairgate Test DAI", "FDAI", 18, {"from": deployer})
    scale = 10**12  # the same prices in 18 decimals
    event = event_in(dai, face_scale=scale)
    (token,) = _buy(event, alice)
    event.list(token, GA_CAP * scale, ZERO_ADDRESS, {"from": alice})
    event.buy(token, commitment(), {"from": bob})
    assert dai.balanceOf(event) == GA_FACE * scale + model_split(GA_CAP * scale, 500)[0]


# ----------------------------------------------------------------------------- card tickets


def test_a_card_tickets_first_sale_is_held_in_the_token(
    ticket: Any, usd: Any, minter: Any, organizer: Any, alice: Any, bob: Any, schedule: Any
) -> None:
    run = ticket.mintBatch(GA, [(alice, order_ref(), commitments(1))], {"from": minter})
    token = run.events["TicketsIssued"]["firstTokenId"]
    ticket.list(token, GA_CAP, ZERO_ADDRESS, {"from": alice})
    seller_before = usd.balanceOf(alice)
    ticket.buy(token, commitment(), {"from": bob})
    assert usd.balanceOf(alice) == seller_before  # nothing pushed
    assert tuple(ticket.heldSale(token)) == (alice, GA_FACE)  # held until the event has happened
    assert usd.balanceOf(ticket) == GA_CAP
    royalty, proceeds = model_split(GA_CAP, 500)
    _, face_proceeds = model_split(GA_FACE, 500)
    # the rest of her proceeds is Alice's at once, as a pull balance
    assert ticket.pendingOf(alice) == proceeds - face_proceeds
    with reverts("StillHeld", token):
        ticket.settleHeld([token], {"from": alice})
    warp(schedule.ends)
    ticket.settleHeld([token], {"from": alice})
    assert usd.balanceOf(alice) == seller_before + face_proceeds
    ticket.withdrawPending({"from": alice})
    assert usd.balanceOf(alice) == seller_before + proceeds
    tx = ticket.withdrawProceeds(organizer, {"from": organizer})
    assert tx.events["ProceedsWithdrawn"]["royalties"] == royalty
    assert usd.balanceOf(ticket) == 0


def test_cancellation_refunds_in_the_token_to_the_named_receiver(
    ticket: Any, usd: Any, minter: Any, organizer: Any, alice: Any, bob: Any, carol: Any
) -> None:
    tokens = _buy(ticket, alice, 2)
    run = ticket.mintBatch(GA, [(alice, order_ref(), commitments(1))], {"from": minter})
    card = run.events["TicketsIssued"]["firstTokenId"]
    ticket.list(card, GA_FACE, ZERO_ADDRESS, {"from": alice})
    ticket.buy(card, commitment(), {"from": bob})  # a card ticket bought on the market: held
    ticket.cancel({"from": organizer})
    before = usd.balanceOf(carol)
    tx = ticket.claimRefund(tokens, carol, {"from": alice})
    assert [e["amount"] for e in tx.events["RefundClaimed"]] == [GA_FACE, GA_FACE]
    assert usd.balanceOf(carol) == before + 2 * GA_FACE
    bob_before = usd.balanceOf(bob)
    ticket.claimRefund([card], bob, {"from": bob})  # the held price pays its face value
    assert usd.balanceOf(bob) == bob_before + GA_FACE
    assert ticket.escrowBalance() == 0


def test_unclaimed_refunds_go_to_the_organizer_after_the_deadline(
    ticket: Any, usd: Any, organizer: Any, alice: Any
) -> None:
    _buy(ticket, alice, 3)
    ticket.cancel({"from": organizer})
    with reverts("NothingToWithdraw"):
        ticket.withdrawProceeds(organizer, {"from": organizer})
    warp(ticket.refundDeadline() + 1)
    before = usd.balanceOf(organizer)
    tx = ticket.withdrawProceeds(organizer, {"from": organizer})
    assert tx.events["ProceedsWithdrawn"]["escrow"] == 3 * GA_FACE
    assert usd.balanceOf(organizer) == before + 3 * GA_FACE


def test_escrow_is_the_organizers_after_the_event(
    ticket: Any, usd: Any, organizer: Any, alice: Any, schedule: Any
) -> None:
    _buy(ticket, alice, 2)
    with reverts("NothingToWithdraw"):
        ticket.withdrawProceeds(organizer, {"from": organizer})
    warp(schedule.ends)
    before = usd.balanceOf(organizer)
    ticket.withdrawProceeds(organizer, {"from": organizer})
    assert usd.balanceOf(organizer) == before + 2 * GA_FACE
    assert ticket.royaltyBalance() == 0


# ----------------------------------------------------------------------- the bridge's card path


def test_the_card_path_of_a_token_event(
    ticket: Any,
    usd: Any,
    minter: Any,
    organizer: Any,
    alice: Any,
    bob: Any,
    carol: Any,
) -> None:
    """What a card order means for an event in a token (api/README.md, "Events in a
    stablecoin"): the bridge takes the card price in fiat and mints by card (no on-chain payment,
    so the ticket is not escrow-backed); everything on-chain after that is in the event's token.
    A chargeback of a card ticket sold on the market: its held price (in the token) makes the
    organizer whole. After a cancellation: a card ticket its payer still holds is revoked (the
    card is refunded in fiat), one sold on the market is refunded on-chain in the token from its
    held price, and one given away is refunded on-chain in the token the bridge pays into
    escrow (fundGiftRefunds, with the bridge's allowance)."""
    runs = [(alice, order_ref(), commitments(4))]
    first = ticket.mintBatch(GA, runs, {"from": minter}).events["TicketsIssued"]["firstTokenId"]
    kept, sold, gifted, charged = range(first, first + 4)
    assert not ticket.paidInEth(kept) and usd.balanceOf(ticket) == 0

    for token in (sold, charged):  # first paid sales of card tickets: held in the token
        ticket.list(token, GA_FACE, ZERO_ADDRESS, {"from": alice})
        ticket.buy(token, commitment(), {"from": bob})
    assert usd.balanceOf(ticket) == 2 * GA_FACE
    ticket.list(gifted, 0, carol, {"from": alice})
    ticket.buy(gifted, commitment(), {"from": carol})  # a gift: no money moves

    organizer_before = ticket.royaltyBalance()
    tx = ticket.revoke([charged], {"from": minter})  # the card was charged back
    settled = tx.events["HeldSaleSettled"]
    assert (settled["toSeller"], settled["toEscrow"]) == (0, GA_FACE)
    assert ticket.ownerOf(charged) == bob  # its buyer keeps it, now escrow-backed in the token

    ticket.cancel({"from": organizer})
    ticket.revoke([kept], {"from": minter})  # its payer still held it: refunded to the card
    usd.mint(minter, GA_FACE, {"from": minter})
    usd.approve(ticket, GA_FACE, {"from": minter})
    with reverts("WrongPayment", GA_FACE, 0):  # the bridge pays a token event in the token
        ticket.fundGiftRefunds([gifted], {"from": minter, "value": GA_FACE})
    ticket.fundGiftRefunds([gifted], {"from": minter})
    for holder, token in ((bob, sold), (bob, charged), (carol, gifted)):
        before = usd.balanceOf(holder)
        ticket.claimRefund([token], holder, {"from": holder})
        assert usd.balanceOf(holder) == before + GA_FACE
    assert ticket.escrowBalance() == 0
    assert ticket.royaltyBalance() == usd.balanceOf(ticket) >= organizer_before
    with reverts("NonexistentTicket", kept):
        ticket.claimRefund([kept], alice, {"from": alice})
