"""The test helpers themselves: the custom-error assertion must fail on the wrong error, the wrong
arguments and no revert at all, or every refusal test built on it could not fail."""

from __future__ import annotations

import pytest

from .helpers import error_names, order_ref, reverts


def test_reverts_accepts_the_right_error_and_arguments(ticket, stranger):
    with reverts("MissingRole", stranger, 1):
        ticket.mintBatch(0, [(stranger, order_ref(), [order_ref()])], {"from": stranger})
    with reverts("NonexistentTicket", 5):  # from a call, not a transaction
        ticket.ownerOf(5)


def test_reverts_rejects_another_error(ticket):
    with pytest.raises(AssertionError, match="expected UnknownTier"), reverts("UnknownTier"):
        ticket.ownerOf(5)


def test_reverts_rejects_other_arguments(ticket):
    expected = pytest.raises(AssertionError, match="NonexistentTicket: expected")
    with expected, reverts("NonexistentTicket", 6):
        ticket.ownerOf(5)


def test_reverts_rejects_no_revert(ticket):
    with pytest.raises(AssertionError, match="nothing reverted"), reverts("SoldOut"):
        ticket.nextTokenId()


def test_reverts_rejects_names_outside_the_abi():
    with pytest.raises(AssertionError, match="not an error"), reverts("NoSuchError"):
        pass


def test_every_documented_error_is_in_the_abi():
    documented = {
        "AlreadyInitialized", "MissingRole", "InvalidParameter", "UnsupportedCurrency",
        "UnknownTier", "NonexistentTicket", "SoldOut", "InvalidCommitment", "LengthMismatch",
        "WrongPayment", "EventCancelled", "EventNotCancelled", "SalesClosed", "NotTicketHolder",
        "NotAuthorized", "PriceAboveCap", "ResaleClosed", "NotListed", "ReservedForAnother",
        "GiftNeedsRecipient", "SelfPurchase", "TransferOutsideMarket", "TicketLocked",
        "InvalidReceiver", "InvalidOrder", "PaidInEth", "NotRefundable", "PaymentFailed",
        "NothingToWithdraw", "Reentrancy", "UnknownRoot", "NullifierUsed", "NoVerifier",
        "InvalidProof",
    }  # fmt: skip
    assert documented <= error_names()
