"""The bridge's custody release and revocation of card-paid tickets (refunds, chargebacks)."""

from __future__ import annotations

from .conftest import GA_FACE
from .helpers import ZERO_ADDRESS, commitment, reverts


def test_custody_release_moves_the_ticket_and_keeps_its_commitment(ticket, mint, minter, alice):
    tokens = mint(minter, 2)
    tx = ticket.releaseFromCustody(tokens[1], alice, {"from": minter})
    assert tx.events["CustodyReleased"]["tokenId"] == tokens[1]
    assert tx.events["CustodyReleased"]["to"] == alice
    assert (tx.events["Transfer"]["from"], tx.events["Transfer"]["to"]) == (minter, alice)
    assert "CommitmentRotated" not in tx.events  # the fan's device made the secret
    assert "Resold" not in tx.events
    assert ticket.ownerOf(tokens[1]) == alice
    assert ticket.ownerOf(tokens[0]) == minter
    assert (ticket.balanceOf(minter), ticket.balanceOf(alice)) == (1, 1)
    assert ticket.movesOf(tokens[1]) == 1


def test_custody_release_refusals(ticket, mint, minter, organizer, alice, bob, stranger):
    (fans_ticket,) = mint(alice)
    (held,) = mint(minter)
    with reverts("NotTicketHolder", fans_ticket, minter):
        ticket.releaseFromCustody(fans_ticket, bob, {"from": minter})
    with reverts("MissingRole", stranger, 1):
        ticket.releaseFromCustody(held, bob, {"from": stranger})
    with reverts("NotTicketHolder", held, organizer):  # has the role, not the ticket
        ticket.releaseFromCustody(held, bob, {"from": organizer})
    with reverts("InvalidReceiver", ZERO_ADDRESS):
        ticket.releaseFromCustody(held, ZERO_ADDRESS, {"from": minter})


def test_revoke_burns_card_tickets(ticket, mint, minter, alice):
    tokens = mint(alice, 3)
    tx = ticket.revoke(tokens[:2], {"from": minter})
    assert [e["tokenId"] for e in tx.events["TicketRevoked"]] == tokens[:2]
    assert [(e["from"], e["to"]) for e in tx.events["Transfer"]] == [(alice, ZERO_ADDRESS)] * 2
    assert ticket.balanceOf(alice) == 1
    assert ticket.ownerOf(tokens[2]) == alice  # the rest of the run is untouched
    for token in tokens[:2]:
        with reverts("NonexistentTicket", token):
            ticket.ownerOf(token)
    with reverts("NonexistentTicket", tokens[0]):
        ticket.revoke([tokens[0]], {"from": minter})
    assert ticket.tier(0)[2] == 3  # minted counts burned tickets: supply is never reused


def test_revoke_drops_a_listing(ticket, mint, minter, alice, bob):
    (token,) = mint(alice)
    ticket.list(token, GA_FACE, ZERO_ADDRESS, {"from": alice})
    ticket.revoke([token], {"from": minter})
    assert tuple(ticket.listing(token)) == (ZERO_ADDRESS, 0, ZERO_ADDRESS)
    with reverts("NotListed", token):
        ticket.buy(token, commitment(), {"from": bob, "value": GA_FACE})


def test_revoke_after_custody_release(ticket, mint, minter, alice):
    (token,) = mint(minter)
    ticket.releaseFromCustody(token, alice, {"from": minter})
    ticket.revoke([token], {"from": minter})
    assert ticket.balanceOf(alice) == 0


def test_organizer_may_revoke_others_may_not(ticket, mint, organizer, gate, stranger, alice):
    tokens = mint(alice, 2)
    for account in (gate, stranger, alice):
        with reverts("MissingRole", account, 1):
            ticket.revoke([tokens[0]], {"from": account})
    ticket.revoke([tokens[0]], {"from": organizer})
    assert ticket.balanceOf(alice) == 1


def test_eth_paid_tickets_are_never_revoked(ticket, buy_primary, mint, minter, organizer, alice):
    (card,) = mint(alice)
    (eth,) = buy_primary(alice)
    with reverts("PaidInEth", eth):
        ticket.revoke([card, eth], {"from": minter})
    assert ticket.ownerOf(card) == alice  # all or nothing
    ticket.cancel({"from": organizer})
    with reverts("PaidInEth", eth):
        ticket.revoke([eth], {"from": minter})


def test_a_resold_card_ticket_is_never_revoked(ticket, mint, minter, organizer, alice, bob):
    # A chargeback must not take a ticket from a good-faith buyer on the market: the held price
    # of its first sale goes to the organizer instead (test_value_attacks.py has the money).
    (sold,) = mint(alice, 1)
    ticket.list(sold, GA_FACE, ZERO_ADDRESS, {"from": alice})
    ticket.buy(sold, commitment(), {"from": bob, "value": GA_FACE})
    tx = ticket.revoke([sold], {"from": minter})
    assert "TicketRevoked" not in tx.events
    assert tx.events["HeldSaleSettled"]["tokenId"] == sold
    assert ticket.ownerOf(sold) == bob
    # Nor after a cancellation: its holder claims the face value on-chain.
    ticket.cancel({"from": organizer})
    with reverts("PaidInEth", sold):
        ticket.revoke([sold], {"from": minter})
    assert ticket.ownerOf(sold) == bob


def test_a_gift_does_not_shield_a_card_ticket_from_its_chargeback(ticket, mint, minter, alice, bob):
    # The receiver of a gift paid nothing: gifting to a second wallet must not block revocation.
    (gifted,) = mint(alice, 1)
    ticket.list(gifted, 0, bob, {"from": alice})
    ticket.buy(gifted, commitment(), {"from": bob, "value": 0})
    tx = ticket.revoke([gifted], {"from": minter})
    assert len(tx.events["TicketRevoked"]) == 1
    assert ticket.balanceOf(bob) == 0
