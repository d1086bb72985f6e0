"""ERC-721 behaviour suite: the standard's required behaviours, run over the ticket and over
``contracts/test/BaselineERC721.sol`` (OpenZeppelin 5.4's ERC721) as the reference, which must
pass the same suite - conformance tested, not assumed (issue 14), as OpenZeppelin runs its
``shouldBehaveLikeERC721`` against every variant.

The ticket runs here under the Free transfer policy with its resale window open: the only
configuration in which plain transfers and approvals exist. Each implementation names its own
custom errors (``ERRORS``); the behaviour (what reverts, what moves, which events) is the same.

Deliberate deviations of the ticket, stated and tested at the end of this file:
* under MarketOnly (the default) and Locked, transfers and approvals outside the capped market
  revert (``TransferOutsideMarket`` / ``TicketLocked``) and ERC-5192 ``locked`` is true; under
  Free, tickets lock when the tier's resale window closes;
* a plain transfer clears the holder commitment (``CommitmentRotated(id, 0)``);
* a token approval dies with the ticket's next move (bound to its move count): ``getApproved``
  reads zero afterwards, as the standard requires, without a write on the move;
* a receiver that reverts is reported as ``InvalidReceiver`` (OpenZeppelin bubbles its reason).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import brownie
import eth_abi
import pytest

from .conftest import GA
from .helpers import (
    FREE,
    LOCKED,
    MARKET_ONLY,
    ZERO_ADDRESS,
    commitments,
    order_ref,
    reverts,
    warp,
)

SAFE_3 = "address,address,uint256"
SAFE_4 = "address,address,uint256,bytes"
RECEIVER_ACCEPT, RECEIVER_WRONG_SELECTOR, RECEIVER_REVERT_MESSAGE, RECEIVER_REVERT_EMPTY = range(4)

IERC165_ID = "0x01ffc9a7"
IERC721_ID = "0x80ac58cd"
IERC721_METADATA_ID = "0x5b5e139f"
IERC5192_ID = "0xb45a3c0e"

# behaviour -> error name, per implementation
ERRORS = {
    "ticket": {
        "zero_owner": "InvalidParameter",
        "nonexistent": "NonexistentTicket",
        "approve_not_owner": "NotAuthorized",
        "zero_operator": "InvalidParameter",
        "not_authorized": "NotAuthorized",
        "wrong_from": "NotTicketHolder",
        "bad_receiver": "InvalidReceiver",
        "receiver_reverts": "InvalidReceiver",
    },
    "baseline": {
        "zero_owner": "ERC721InvalidOwner",
        "nonexistent": "ERC721NonexistentToken",
        "approve_not_owner": "ERC721InvalidApprover",
        "zero_operator": "ERC721InvalidOperator",
        "not_authorized": "ERC721InsufficientApproval",
        "wrong_from": "ERC721IncorrectOwner",
        "bad_receiver": "ERC721InvalidReceiver",
        "receiver_reverts": None,  # OpenZeppelin bubbles the receiver's own reason
    },
}


@dataclass(frozen=True)
class Subject:
    """One ERC-721 implementation under test: its contract and how to mint a token on it."""

    kind: str
    token: Any
    mint: Callable[[Any], int]

    def error(self, behaviour: str) -> str | None:
        return ERRORS[self.kind][behaviour]


@pytest.fixture(scope="module", params=["ticket", "baseline"])
def subject(
    request: pytest.FixtureRequest,
    create_event: Callable[..., Any],
    minter: Any,
    BaselineERC721: Any,
    deployer: Any,
) -> Subject:
    if request.param == "ticket":
        ticket = create_event(policy=FREE)

        def mint_ticket(to: Any) -> int:
            tx = ticket.mintBatch(GA, [(to, order_ref(), commitments(1))], {"from": minter})
            return int(tx.events["TicketsIssued"][0]["firstTokenId"])

        return Subject("ticket", ticket, mint_ticket)
    baseline = BaselineERC721.deploy({"from": deployer})

    def mint_baseline(to: Any) -> int:
        tx = baseline.mintEach([to], {"from": deployer})
        return int(tx.events["Transfer"][0]["tokenId"])

    return Subject("baseline", baseline, mint_baseline)


@pytest.fixture(scope="module")
def receivers(ERC721ReceiverMock: Any, deployer: Any) -> dict[int, Any]:
    return {mode: ERC721ReceiverMock.deploy(mode, {"from": deployer}) for mode in range(4)}


@pytest.fixture(scope="module")
def non_receiver(ToolchainSmoke: Any, deployer: Any) -> Any:
    """A contract without onERC721Received (and without a fallback)."""
    return ToolchainSmoke.deploy({"from": deployer})


@pytest.fixture
def nft(subject: Subject) -> Any:
    return subject.token


@pytest.fixture
def token_id(subject: Subject, alice: Any) -> int:
    return subject.mint(alice)


@pytest.fixture
def missing(subject: Subject) -> int:
    return 10**6  # never minted on either


def _reverts(subject: Subject, behaviour: str, *args: Any) -> Any:
    name = subject.error(behaviour)
    if name is None:
        return brownie.reverts()
    return reverts(name, *args)


# ----------------------------------------------------------------------------- balanceOf, ownerOf


def test_balance_counts_the_owners_tokens(nft, subject, alice, bob):
    before = nft.balanceOf(alice)
    subject.mint(alice)
    subject.mint(alice)
    assert nft.balanceOf(alice) == before + 2
    assert nft.balanceOf(bob) == 0


def test_balance_of_the_zero_address_reverts(nft, subject):
    with _reverts(subject, "zero_owner"):
        nft.balanceOf(ZERO_ADDRESS)


def test_owner_of_a_minted_token(nft, token_id, alice):
    assert nft.ownerOf(token_id) == alice


def test_owner_of_a_nonexistent_token_reverts(nft, subject, missing):
    with _reverts(subject, "nonexistent", missing):
        nft.ownerOf(missing)


def test_mint_emits_transfer_from_zero(subject, alice):
    token = subject.mint(alice)
    (transfer,) = brownie.history[-1].events["Transfer"]
    assert dict(transfer) == {"from": ZERO_ADDRESS, "to": alice, "tokenId": token}


# ----------------------------------------------------------------------------- approvals


def test_approve_sets_and_announces_the_approved_account(nft, token_id, alice, bob):
    assert nft.getApproved(token_id) == ZERO_ADDRESS
    tx = nft.approve(bob, token_id, {"from": alice})
    assert nft.getApproved(token_id) == bob
    assert [dict(e) for e in tx.events["Approval"]] == [
        {"owner": alice, "approved": bob, "tokenId": token_id}
    ]


def test_approve_zero_clears_the_approval(nft, token_id, alice, bob):
    nft.approve(bob, token_id, {"from": alice})
    tx = nft.approve(ZERO_ADDRESS, token_id, {"from": alice})
    assert nft.getApproved(token_id) == ZERO_ADDRESS
    assert tx.events["Approval"][0]["approved"] == ZERO_ADDRESS


def test_approve_by_a_stranger_reverts(nft, subject, token_id, bob, carol):
    with _reverts(subject, "approve_not_owner"):
        nft.approve(carol, token_id, {"from": bob})


def test_approve_by_an_operator_works(nft, token_id, alice, bob, carol):
    nft.setApprovalForAll(bob, True, {"from": alice})
    tx = nft.approve(carol, token_id, {"from": bob})
    assert nft.getApproved(token_id) == carol
    assert tx.events["Approval"][0]["owner"] == alice


def test_approve_or_get_approved_of_a_nonexistent_token_reverts(nft, subject, missing, alice, bob):
    with _reverts(subject, "nonexistent", missing):
        nft.getApproved(missing)
    with _reverts(subject, "nonexistent", missing):
        nft.approve(bob, missing, {"from": alice})


def test_set_approval_for_all_sets_clears_and_announces(nft, alice, bob):
    assert not nft.isApprovedForAll(alice, bob)
    tx = nft.setApprovalForAll(bob, True, {"from": alice})
    assert nft.isApprovedForAll(alice, bob)
    assert dict(tx.events["ApprovalForAll"][0]) == {
        "owner": alice,
        "operator": bob,
        "approved": True,
    }
    tx = nft.setApprovalForAll(bob, False, {"from": alice})
    assert not nft.isApprovedForAll(alice, bob)
    assert tx.events["ApprovalForAll"][0]["approved"] is False


def test_set_approval_for_all_to_the_zero_address_reverts(nft, subject, alice):
    with _reverts(subject, "zero_operator"):
        nft.setApprovalForAll(ZERO_ADDRESS, True, {"from": alice})


# ----------------------------------------------------------------------------- transferFrom


@pytest.mark.parametrize("caller", ["owner", "approved", "operator"])
def test_transfer_from_moves_the_token(nft, token_id, alice, bob, carol, caller):
    sender = {"owner": alice, "approved": carol, "operator": carol}[caller]
    if caller == "approved":
        nft.approve(carol, token_id, {"from": alice})
    if caller == "operator":
        nft.setApprovalForAll(carol, True, {"from": alice})
    alice_before, bob_before = nft.balanceOf(alice), nft.balanceOf(bob)
    tx = nft.transferFrom(alice, bob, token_id, {"from": sender})
    assert nft.ownerOf(token_id) == bob
    assert (nft.balanceOf(alice), nft.balanceOf(bob)) == (alice_before - 1, bob_before + 1)
    assert [dict(e) for e in tx.events["Transfer"]] == [
        {"from": alice, "to": bob, "tokenId": token_id}
    ]
    assert nft.getApproved(token_id) == ZERO_ADDRESS  # a move clears the token approval


def test_transfer_from_by_an_unauthorized_account_reverts(nft, subject, token_id, alice, bob):
    with _reverts(subject, "not_authorized"):
        nft.transferFrom(alice, bob, token_id, {"from": bob})
    assert nft.ownerOf(token_id) == alice


def test_transfer_from_with_the_wrong_from_reverts(nft, subject, token_id, alice, bob, carol):
    with _reverts(subject, "wrong_from"):
        nft.transferFrom(bob, carol, token_id, {"from": alice})


def test_transfer_to_the_zero_address_reverts(nft, subject, token_id, alice):
    with _reverts(subject, "bad_receiver", ZERO_ADDRESS):
        nft.transferFrom(alice, ZERO_ADDRESS, token_id, {"from": alice})


def test_transfer_of_a_nonexistent_token_reverts(nft, subject, missing, alice, bob):
    with _reverts(subject, "nonexistent", missing):
        nft.transferFrom(alice, bob, missing, {"from": alice})


def test_transfer_to_a_contract_without_a_receiver_is_plain(nft, token_id, alice, non_receiver):
    """transferFrom does not call onERC721Received: the caller takes the risk."""
    nft.transferFrom(alice, non_receiver, token_id, {"from": alice})
    assert nft.ownerOf(token_id) == non_receiver


# ----------------------------------------------------------------------------- safeTransferFrom


@pytest.mark.parametrize("signature", [SAFE_3, SAFE_4])
def test_safe_transfer_to_an_externally_owned_account(nft, token_id, alice, bob, signature):
    args = (alice, bob, token_id) + ((b"",) if signature == SAFE_4 else ())
    tx = nft.safeTransferFrom[signature](*args, {"from": alice})
    assert nft.ownerOf(token_id) == bob
    assert tx.events["Transfer"][0]["to"] == bob


@pytest.mark.parametrize("data", [None, b"", b"\x42" * 40])
def test_safe_transfer_to_a_receiver_passes_operator_from_id_and_data(
    nft, token_id, alice, bob, receivers, data
):
    receiver = receivers[RECEIVER_ACCEPT]
    nft.setApprovalForAll(bob, True, {"from": alice})
    if data is None:
        tx = nft.safeTransferFrom[SAFE_3](alice, receiver, token_id, {"from": bob})
    else:
        tx = nft.safeTransferFrom[SAFE_4](alice, receiver, token_id, data, {"from": bob})
    assert nft.ownerOf(token_id) == receiver
    (received,) = [log for log in tx.logs if log["address"] == receiver.address]
    # decoded here: brownie renders empty bytes as 0x00
    operator, sender, received_id, received_data = eth_abi.decode(
        ["address", "address", "uint256", "bytes"], bytes(received["data"])
    )
    assert (operator, sender) == (bob.address.lower(), alice.address.lower())
    assert received_id == token_id
    assert received_data == (data or b"")


@pytest.mark.parametrize("signature", [SAFE_3, SAFE_4])
def test_safe_transfer_to_a_receiver_answering_the_wrong_selector_reverts(
    nft, subject, token_id, alice, receivers, signature
):
    receiver = receivers[RECEIVER_WRONG_SELECTOR]
    args = (alice, receiver, token_id) + ((b"x",) if signature == SAFE_4 else ())
    with _reverts(subject, "bad_receiver", receiver):
        nft.safeTransferFrom[signature](*args, {"from": alice})
    assert nft.ownerOf(token_id) == alice


@pytest.mark.parametrize("mode", [RECEIVER_REVERT_MESSAGE, RECEIVER_REVERT_EMPTY])
def test_safe_transfer_to_a_reverting_receiver_reverts(
    nft, subject, token_id, alice, receivers, mode
):
    """A receiver that reverts with a reason: the ticket reports InvalidReceiver, OpenZeppelin
    bubbles the reason; with no reason both report their invalid-receiver error."""
    receiver = receivers[mode]
    behaviour = "receiver_reverts" if mode == RECEIVER_REVERT_MESSAGE else "bad_receiver"
    expected = () if subject.error(behaviour) is None else (receiver,)
    with _reverts(subject, behaviour, *expected):
        nft.safeTransferFrom[SAFE_3](alice, receiver, token_id, {"from": alice})
    assert nft.ownerOf(token_id) == alice


def test_safe_transfer_to_a_non_receiver_contract_reverts(
    nft, subject, token_id, alice, non_receiver
):
    with _reverts(subject, "bad_receiver", non_receiver):
        nft.safeTransferFrom[SAFE_3](alice, non_receiver, token_id, {"from": alice})
    assert nft.ownerOf(token_id) == alice


# ----------------------------------------------------------------------------- ERC-165


@pytest.mark.parametrize("interface", [IERC165_ID, IERC721_ID, IERC721_METADATA_ID])
def test_supports_the_erc721_interfaces(nft, interface):
    assert nft.supportsInterface(interface)


def test_does_not_claim_the_invalid_interface_id(nft):
    assert not nft.supportsInterface("0xffffffff")


def test_metadata_answers(nft, token_id):
    assert nft.name() and nft.symbol()
    assert isinstance(nft.tokenURI(token_id), str)


# ----------------------------------------------------------------------------- ticket only


@pytest.fixture
def ticket_only(subject: Subject) -> Subject:
    if subject.kind != "ticket":
        pytest.skip("a deviation of the ticket from the reference")
    return subject


def test_ticket_supports_erc5192(ticket_only):
    assert ticket_only.token.supportsInterface(IERC5192_ID)


def test_ticket_plain_transfer_clears_the_holder_commitment(ticket_only, alice, bob):
    token = ticket_only.mint(alice)
    tx = ticket_only.token.transferFrom(alice, bob, token, {"from": alice})
    assert tx.events["CommitmentRotated"][0]["tokenId"] == token
    assert int(tx.events["CommitmentRotated"][0]["commitment"].hex(), 16) == 0


def test_ticket_locks_when_the_resale_window_closes(ticket_only, alice, bob, schedule):
    token = ticket_only.mint(alice)
    assert not ticket_only.token.locked(token)
    warp(schedule.resale_closes)
    assert ticket_only.token.locked(token)
    with reverts("TicketLocked", token):
        ticket_only.token.transferFrom(alice, bob, token, {"from": alice})


@pytest.mark.parametrize("policy_", [MARKET_ONLY, LOCKED], ids=["market_only", "locked"])
def test_ticket_outside_free_policy_moves_only_through_the_market(
    ticket_only, create_event, minter, alice, bob, policy_
):
    """The deviation the cap needs: approvals and plain transfers revert, the ticket is locked."""
    event = create_event(policy=policy_)
    tx = event.mintBatch(GA, [(alice, order_ref(), commitments(1))], {"from": minter})
    token = tx.events["TicketsIssued"][0]["firstTokenId"]
    assert event.locked(token)
    with reverts("TransferOutsideMarket"):
        event.approve(bob, token, {"from": alice})
    with reverts("TransferOutsideMarket"):
        event.setApprovalForAll(bob, True, {"from": alice})
    plain = "TransferOutsideMarket" if policy_ == MARKET_ONLY else "TicketLocked"
    with reverts(plain):
        event.transferFrom(alice, bob, token, {"from": alice})
    with reverts(plain):
        event.safeTransferFrom[SAFE_3](alice, bob, token, {"from": alice})
    assert event.ownerOf(token) == alice
