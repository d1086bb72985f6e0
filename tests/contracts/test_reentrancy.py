"""Re-entrancy and hostile receivers (contracts/test/HostileHolder.sol): a seller whose receive()
re-enters or rejects ETH, a refund claimant that re-enters claimRefund, and a safeTransferFrom
receiver that re-enters the ticket under the Free policy. Every wei is paid exactly once.

The suite runs on both builds (make test: the shanghai build on Ganache, where the lock is a bit of
the packed flags; the cancun build on Anvil, where it is transient storage): the re-entries that
only the lock stops are checked to fail with ``Reentrancy()`` itself, not a later check.
"""

from __future__ import annotations

import pytest
from brownie import web3
from eth_utils import keccak

from chain.evm import cancun_opcodes
from chain.nodes import node_kind

from .conftest import GA, GA_FACE
from .helpers import FREE, ZERO_ADDRESS, commitment, commitments, model_split, order_ref, reverts

GA_CAP = GA_FACE * 11_000 // 10_000
ROYALTY, PROCEEDS = model_split(GA_CAP, 500)
REENTRANCY = keccak(text="Reentrancy()")[:4]


def test_the_suite_runs_the_build_of_its_node(implementation):
    """Anvil runs the cancun build (lock in transient storage), Ganache the shanghai build."""
    opcodes = cancun_opcodes(bytes(web3.eth.get_code(implementation.address)))
    if node_kind(web3) == "anvil":
        assert opcodes["TSTORE"] >= 2 and opcodes["TLOAD"] >= 1, opcodes
    else:
        assert opcodes == {"TLOAD": 0, "TSTORE": 0, "MCOPY": 0}


@pytest.fixture
def hostile_seller(ticket, hostile_holder, deployer):
    """The hostile contract holds a ticket it bought with ETH (so its sale is paid at once, not
    held like a card ticket's first sale), listed at the cap; returns (contract, token)."""
    tx = hostile_holder.act(
        ticket.purchase.encode_input(GA, commitments(1)), {"from": deployer, "value": GA_FACE}
    )
    token = ticket.nextTokenId() - 1
    assert tx.events["TicketsIssued"]["firstTokenId"] == token
    hostile_holder.act(ticket.list.encode_input(token, GA_CAP, ZERO_ADDRESS), {"from": deployer})
    return hostile_holder, token


def _sell(ticket, token, buyer):
    return ticket.buy(token, commitment(), {"from": buyer, "value": GA_CAP})


def test_seller_reentering_withdraw_pending_gets_paid_once(ticket, hostile_seller, deployer, bob):
    hostile, token = hostile_seller
    hostile.configure(ticket.withdrawPending.encode_input(), False, {"from": deployer})

    tx = _sell(ticket, token, bob)

    # The push carries 10,000 gas: the re-entering receive() runs out, so the push fails and
    # the proceeds wait in the pull balance. The sale itself goes through.
    assert ticket.ownerOf(token) == bob
    assert tx.events["PaymentDeferred"]["to"] == hostile
    assert tx.events["PaymentDeferred"]["amount"] == PROCEEDS
    assert ticket.pendingOf(hostile) == PROCEEDS
    assert not hostile.reentered()
    assert ticket.royaltyBalance() == ROYALTY
    assert ticket.balance() == GA_CAP + GA_FACE  # + the primary sale's escrow

    tx = hostile.act(ticket.withdrawPending.encode_input(), {"from": deployer})

    assert tx.events["PendingWithdrawn"]["amount"] == PROCEEDS
    assert hostile.reentered()
    assert not hostile.reentrySucceeded()
    assert bytes(hostile.reentryError()) == REENTRANCY  # the lock, not the zeroed balance
    assert hostile.balance() == PROCEEDS
    assert ticket.pendingOf(hostile) == 0
    assert ticket.balance() - GA_FACE == ROYALTY == ticket.royaltyBalance()
    with reverts("NothingToWithdraw"):
        hostile.act(ticket.withdrawPending.encode_input(), {"from": deployer})


def test_seller_reentering_buy_gains_nothing(ticket, hostile_seller, mint, deployer, bob, carol):
    hostile, token = hostile_seller
    (gift,) = mint(carol)
    ticket.list(gift, 0, hostile, {"from": carol})  # a gift reserved for the hostile contract
    hostile.configure(ticket.buy.encode_input(gift, commitment()), False, {"from": deployer})

    _sell(ticket, token, bob)

    assert not hostile.reentered()  # the bounded push cannot even start the re-entry
    assert ticket.ownerOf(gift) == carol
    assert ticket.pendingOf(hostile) == PROCEEDS

    hostile.act(ticket.withdrawPending.encode_input(), {"from": deployer})

    # With full gas the re-entered buy runs, after the pull balance was zeroed, and is refused:
    # a contract never takes a reserved offer (TakerNotExternallyOwned). Proceeds paid once.
    assert hostile.reentered() and not hostile.reentrySucceeded()
    assert ticket.ownerOf(gift) == carol
    assert hostile.balance() == PROCEEDS
    assert ticket.pendingOf(hostile) == 0
    assert ticket.balance() - GA_FACE == ROYALTY


def test_seller_rejecting_eth_keeps_a_pull_balance(ticket, hostile_seller, deployer, bob):
    hostile, token = hostile_seller
    hostile.configure(b"", True, {"from": deployer})
    _sell(ticket, token, bob)
    assert ticket.pendingOf(hostile) == PROCEEDS
    with reverts("PaymentFailed", hostile, PROCEEDS):
        hostile.act(ticket.withdrawPending.encode_input(), {"from": deployer})
    assert ticket.pendingOf(hostile) == PROCEEDS
    hostile.configure(b"", False, {"from": deployer})
    hostile.act(ticket.withdrawPending.encode_input(), {"from": deployer})
    assert hostile.balance() == PROCEEDS
    assert ticket.pendingOf(hostile) == 0


def test_pending_balance_is_not_counted_as_royalty(
    ticket, hostile_seller, organizer, deployer, bob
):
    hostile, token = hostile_seller
    hostile.configure(b"", True, {"from": deployer})
    _sell(ticket, token, bob)
    tx = ticket.withdrawProceeds(organizer, {"from": organizer})
    assert tx.events["ProceedsWithdrawn"]["royalties"] == ROYALTY
    assert ticket.balance() - GA_FACE == PROCEEDS == ticket.pendingOf(hostile)


def test_refund_claimant_reentering_claim_refund_is_paid_once(
    ticket, hostile_holder, organizer, deployer
):
    hostile_holder.act(
        ticket.purchase.encode_input(GA, commitments(3)), {"from": deployer, "value": 3 * GA_FACE}
    )
    tokens = [0, 1, 2]
    assert ticket.balanceOf(hostile_holder) == 3
    ticket.cancel({"from": organizer})
    # Claim two; on receiving the ETH, try to claim them again and the third one too.
    hostile_holder.configure(
        ticket.claimRefund.encode_input(tokens, hostile_holder), False, {"from": deployer}
    )

    tx = hostile_holder.act(
        ticket.claimRefund.encode_input(tokens[:2], hostile_holder), {"from": deployer}
    )

    assert len(tx.events["RefundClaimed"]) == 2
    assert hostile_holder.reentered()
    assert not hostile_holder.reentrySucceeded()
    assert bytes(hostile_holder.reentryError()) == REENTRANCY  # before any token is looked at
    assert hostile_holder.balance() == 2 * GA_FACE
    assert ticket.escrowBalance() == GA_FACE
    assert ticket.ownerOf(tokens[2]) == hostile_holder
    with reverts("NonexistentTicket", tokens[0]):
        hostile_holder.act(
            ticket.claimRefund.encode_input(tokens[:1], hostile_holder), {"from": deployer}
        )

    hostile_holder.act(
        ticket.claimRefund.encode_input(tokens[2:], hostile_holder), {"from": deployer}
    )
    assert hostile_holder.balance() == 3 * GA_FACE
    assert ticket.escrowBalance() == 0
    assert ticket.balance() == 0


def test_the_lock_is_released_between_calls_in_one_transaction(
    ticket, hostile_holder, organizer, deployer
):
    """Two locked calls in one transaction both run: each releases the lock on its way out (on the
    cancun build the lock is transient storage, which only the transaction's end would clear)."""
    hostile_holder.act(
        ticket.purchase.encode_input(GA, commitments(2)), {"from": deployer, "value": 2 * GA_FACE}
    )
    ticket.cancel({"from": organizer})
    tx = hostile_holder.actAll(
        [ticket.claimRefund.encode_input([token], hostile_holder) for token in (0, 1)],
        {"from": deployer},
    )
    assert [e["tokenId"] for e in tx.events["RefundClaimed"]] == [0, 1]
    assert hostile_holder.balance() == 2 * GA_FACE
    assert ticket.escrowBalance() == 0


def test_refund_claimant_rejecting_eth_cannot_burn_without_payment(
    ticket, hostile_holder, organizer, deployer
):
    hostile_holder.act(
        ticket.purchase.encode_input(GA, commitments(1)), {"from": deployer, "value": GA_FACE}
    )
    ticket.cancel({"from": organizer})
    hostile_holder.configure(b"", True, {"from": deployer})
    with reverts("PaymentFailed", hostile_holder, GA_FACE):
        hostile_holder.act(ticket.claimRefund.encode_input([0], hostile_holder), {"from": deployer})
    assert ticket.ownerOf(0) == hostile_holder
    assert ticket.escrowBalance() == GA_FACE


# ----------------------------------------------------------------------------- Free policy


@pytest.fixture(scope="module")
def free(create_event):
    return create_event(policy=FREE)


@pytest.fixture
def free_receiver(HostileHolder, free, deployer):
    return HostileHolder.deploy(free, {"from": deployer})


@pytest.fixture
def alices_free_tickets(free, minter, alice):
    tx = free.mintBatch(GA, [(alice, order_ref(), commitments(2))], {"from": minter})
    first = tx.events["TicketsIssued"]["firstTokenId"]
    return first, first + 1


def test_safe_transfer_receiver_cannot_take_the_senders_other_ticket(
    free, free_receiver, alices_free_tickets, alice, deployer
):
    given, kept = alices_free_tickets
    free_receiver.configure(
        free.transferFrom.encode_input(alice, free_receiver, kept), False, {"from": deployer}
    )
    free.safeTransferFrom["address,address,uint256"](alice, free_receiver, given, {"from": alice})
    assert free_receiver.reentered()
    assert not free_receiver.reentrySucceeded()  # NotAuthorized
    assert free.ownerOf(given) == free_receiver
    assert free.ownerOf(kept) == alice
    assert (free.balanceOf(alice), free.balanceOf(free_receiver)) == (1, 1)


def test_safe_transfer_receiver_passing_the_ticket_on_keeps_books_straight(
    free, free_receiver, alices_free_tickets, alice, bob, deployer
):
    given, _ = alices_free_tickets
    free_receiver.configure(
        free.transferFrom.encode_input(free_receiver, bob, given), False, {"from": deployer}
    )
    tx = free.safeTransferFrom["address,address,uint256"](
        alice, free_receiver, given, {"from": alice}
    )
    assert free_receiver.reentrySucceeded()
    moves = [(e["from"], e["to"]) for e in tx.events["Transfer"]]
    assert moves == [(alice, free_receiver), (free_receiver, bob)]
    assert free.ownerOf(given) == bob
    assert free.movesOf(given) == 2
    assert (free.balanceOf(alice), free.balanceOf(free_receiver), free.balanceOf(bob)) == (1, 0, 1)
