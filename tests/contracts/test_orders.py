"""EIP-712 signed sell orders: digest, buyWithOrder, and every way an order goes stale.

Orders are signed off-chain with eth-account (``sign_typed_data``) over the domain
("Fairgate Ticket", "1", chainId, the clone's address), as a wallet would.
"""

from __future__ import annotations

import pytest

from .conftest import GA_FACE
from .helpers import (
    ZERO_ADDRESS,
    as_bytes32_hex,
    commitment,
    compact,
    model_split,
    order_digest,
    order_terms,
    order_tuple,
    reverts,
    sign_order,
    warp,
)

GA_CAP = GA_FACE * 11_000 // 10_000
FAR_FUTURE = 2**40


@pytest.fixture
def token(mint, alice):
    (token_id,) = mint(alice)
    return token_id


@pytest.fixture
def make_order(ticket):
    """A SellOrder for `token_id` bound to its current move count and the seller's nonce."""

    def _make(token_id, price=GA_CAP, reserved_for=ZERO_ADDRESS, deadline=FAR_FUTURE, **over):
        seller = ticket.ownerOf(token_id)
        order = {
            "tokenId": token_id,
            "price": price,
            "reservedFor": str(reserved_for),
            "moves": ticket.movesOf(token_id),
            "nonce": ticket.orderNonce(seller),
            "deadline": deadline,
        }
        order.update(over)
        return order

    return _make


def test_off_chain_digest_equals_order_digest(ticket, token, make_order, bob):
    for order in (make_order(token), make_order(token, price=1, reserved_for=bob, deadline=5)):
        assert as_bytes32_hex(ticket.orderDigest(order_tuple(order))) == order_digest(ticket, order)


def test_digest_binds_the_clone(create_event, ticket, token, make_order):
    other = create_event()
    order = make_order(token)
    assert ticket.orderDigest(order_tuple(order)) != other.orderDigest(order_tuple(order))


def test_buy_with_order_pays_like_a_listing(ticket, buy_primary, make_order, alice, bob):
    (token,) = buy_primary(alice)  # an ETH ticket: paid at once (a card's first sale is held)
    order = make_order(token)
    signature = sign_order(alice.private_key, ticket, order)
    seller_before = alice.balance()
    new_commitment = commitment()

    tx = ticket.buyWithOrder(
        order_terms(order), *compact(signature), new_commitment, {"from": bob, "value": GA_CAP}
    )

    royalty, proceeds = model_split(GA_CAP, 500)
    resold = tx.events["Resold"]
    assert (resold["seller"], resold["buyer"], resold["price"], resold["royalty"]) == (
        alice,
        bob,
        GA_CAP,
        royalty,
    )
    assert as_bytes32_hex(resold["commitment"]) == new_commitment
    assert ticket.ownerOf(token) == bob
    assert alice.balance() - seller_before == proceeds
    assert ticket.royaltyBalance() == royalty
    assert ticket.movesOf(token) == 1


def test_a_used_order_cannot_be_replayed(ticket, token, make_order, alice, bob, carol):
    order = make_order(token, price=GA_FACE)
    signature = sign_order(alice.private_key, ticket, order)
    ticket.buyWithOrder(
        order_terms(order), *compact(signature), commitment(), {"from": bob, "value": GA_FACE}
    )
    with reverts("InvalidOrder", token):
        ticket.buyWithOrder(
            order_terms(order), *compact(signature), commitment(), {"from": carol, "value": GA_FACE}
        )


def test_order_is_stale_once_the_ticket_moved_even_if_it_came_back(
    ticket, token, make_order, alice, bob, carol
):
    order = make_order(token, price=GA_FACE)
    signature = sign_order(alice.private_key, ticket, order)
    # alice sells on-chain to bob, who sells it back to her: same holder, two more moves.
    ticket.list(token, GA_FACE, ZERO_ADDRESS, {"from": alice})
    ticket.buy(token, commitment(), {"from": bob, "value": GA_FACE})
    ticket.list(token, GA_FACE, alice, {"from": bob})
    ticket.buy(token, commitment(), {"from": alice, "value": GA_FACE})
    assert ticket.ownerOf(token) == alice
    with reverts("InvalidOrder", token):
        ticket.buyWithOrder(
            order_terms(order), *compact(signature), commitment(), {"from": carol, "value": GA_FACE}
        )


def test_cancel_all_orders_kills_every_open_order(ticket, mint, make_order, alice, bob):
    first, second = mint(alice, 2)
    orders = [make_order(first), make_order(second)]
    signatures = [sign_order(alice.private_key, ticket, o) for o in orders]

    tx = ticket.cancelAllOrders({"from": alice})

    assert tx.events["OrdersCancelled"]["seller"] == alice
    assert tx.events["OrdersCancelled"]["nonce"] == 1
    assert ticket.orderNonce(alice) == 1
    assert ticket.balanceOf(alice) == 2  # the nonce shares a word with the balance
    for order, signature in zip(orders, signatures, strict=True):
        with reverts("InvalidOrder", order["tokenId"]):
            ticket.buyWithOrder(
                order_terms(order),
                *compact(signature),
                commitment(),
                {"from": bob, "value": GA_CAP},
            )
    fresh = make_order(first)
    assert fresh["nonce"] == 1
    ticket.buyWithOrder(
        order_terms(fresh),
        *compact(sign_order(alice.private_key, ticket, fresh)),
        commitment(),
        {"from": bob, "value": GA_CAP},
    )
    assert ticket.ownerOf(first) == bob


def test_expired_order_is_refused(ticket, token, make_order, alice, bob, chain):
    order = make_order(token, deadline=chain.time() + 600)
    signature = sign_order(alice.private_key, ticket, order)
    warp(order["deadline"] + 1)
    with reverts("InvalidOrder", token):
        ticket.buyWithOrder(
            order_terms(order), *compact(signature), commitment(), {"from": bob, "value": GA_CAP}
        )


def test_order_signed_by_a_non_holder_is_refused(ticket, token, make_order, bob, carol):
    order = make_order(token)
    with reverts("InvalidOrder", token):
        ticket.buyWithOrder(
            order_terms(order),
            *compact(sign_order(bob.private_key, ticket, order)),
            commitment(),
            {"from": carol, "value": GA_CAP},
        )


def test_tampered_terms_invalidate_the_signature(ticket, token, make_order, alice, bob, carol):
    order = make_order(token, reserved_for=carol)
    signature = sign_order(alice.private_key, ticket, order)
    cheaper = dict(order, price=GA_FACE)
    with reverts("InvalidOrder", token):
        ticket.buyWithOrder(
            order_terms(cheaper), *compact(signature), commitment(), {"from": bob, "value": GA_FACE}
        )
    unreserved = dict(order, reservedFor=ZERO_ADDRESS)
    with reverts("InvalidOrder", token):
        ticket.buyWithOrder(
            order_terms(unreserved),
            *compact(signature),
            commitment(),
            {"from": bob, "value": GA_CAP},
        )


def test_order_signed_for_another_event_is_refused(
    create_event, ticket, token, make_order, alice, bob
):
    other = create_event()
    order = make_order(token)
    with reverts("InvalidOrder", token):
        ticket.buyWithOrder(
            order_terms(order),
            *compact(sign_order(alice.private_key, other, order)),
            commitment(),
            {"from": bob, "value": GA_CAP},
        )


@pytest.mark.parametrize(
    "r, vs",
    [
        ("0x" + "00" * 32, "0x" + "00" * 32),
        ("0x" + "11" * 32, "0x" + "11" * 32),
        ("0x" + "ff" * 32, "0x" + "7f" + "ff" * 31),  # s above the curve order
    ],
)
def test_malformed_signature_is_refused(ticket, token, make_order, bob, r, vs):
    with reverts("InvalidOrder", token):
        ticket.buyWithOrder(
            order_terms(make_order(token)), r, vs, commitment(), {"from": bob, "value": GA_CAP}
        )


def test_order_above_the_cap_is_refused(ticket, token, make_order, alice, bob):
    order = make_order(token, price=GA_CAP + 1)
    signature = sign_order(alice.private_key, ticket, order)
    with reverts("PriceAboveCap", GA_CAP + 1, GA_CAP):
        ticket.buyWithOrder(
            order_terms(order),
            *compact(signature),
            commitment(),
            {"from": bob, "value": GA_CAP + 1},
        )
    assert ticket.ownerOf(token) == alice


def test_reserved_order_is_refused_to_anyone_else(ticket, token, make_order, alice, bob, carol):
    order = make_order(token, reserved_for=bob)
    signature = sign_order(alice.private_key, ticket, order)
    with reverts("ReservedForAnother", token, bob):
        ticket.buyWithOrder(
            order_terms(order), *compact(signature), commitment(), {"from": carol, "value": GA_CAP}
        )
    ticket.buyWithOrder(
        order_terms(order), *compact(signature), commitment(), {"from": bob, "value": GA_CAP}
    )
    assert ticket.ownerOf(token) == bob


def test_gift_order_and_unreserved_free_order(ticket, token, make_order, alice, bob):
    free_for_all = make_order(token, price=0)
    with reverts("GiftNeedsRecipient"):
        ticket.buyWithOrder(
            order_terms(free_for_all),
            *compact(sign_order(alice.private_key, ticket, free_for_all)),
            commitment(),
            {"from": bob, "value": 0},
        )
    gift = make_order(token, price=0, reserved_for=bob)
    tx = ticket.buyWithOrder(
        order_terms(gift),
        *compact(sign_order(alice.private_key, ticket, gift)),
        commitment(),
        {"from": bob, "value": 0},
    )
    assert tx.events["Resold"]["price"] == 0
    assert ticket.ownerOf(token) == bob


def test_order_needs_exact_payment_and_a_valid_commitment(ticket, token, make_order, alice, bob):
    order = make_order(token)
    signature = sign_order(alice.private_key, ticket, order)
    with reverts("WrongPayment", GA_CAP - 1, GA_CAP):
        ticket.buyWithOrder(
            order_terms(order),
            *compact(signature),
            commitment(),
            {"from": bob, "value": GA_CAP - 1},
        )
    with reverts("InvalidCommitment"):
        ticket.buyWithOrder(
            order_terms(order),
            *compact(signature),
            "0x" + "00" * 32,
            {"from": bob, "value": GA_CAP},
        )
    with reverts("SelfPurchase"):
        ticket.buyWithOrder(
            order_terms(order), *compact(signature), commitment(), {"from": alice, "value": GA_CAP}
        )


def test_order_is_refused_once_resale_closes(ticket, token, make_order, alice, bob, schedule):
    order = make_order(token)
    signature = sign_order(alice.private_key, ticket, order)
    warp(schedule.resale_closes)
    with reverts("ResaleClosed", token):
        ticket.buyWithOrder(
            order_terms(order), *compact(signature), commitment(), {"from": bob, "value": GA_CAP}
        )


def test_buying_by_order_clears_an_on_chain_listing(ticket, token, make_order, alice, bob, carol):
    ticket.list(token, GA_FACE, ZERO_ADDRESS, {"from": alice})
    order = make_order(token)
    ticket.buyWithOrder(
        order_terms(order),
        *compact(sign_order(alice.private_key, ticket, order)),
        commitment(),
        {"from": bob, "value": GA_CAP},
    )
    assert tuple(ticket.listing(token)) == (ZERO_ADDRESS, 0, ZERO_ADDRESS)
    with reverts("NotListed", token):
        ticket.buy(token, commitment(), {"from": carol, "value": GA_FACE})


def test_order_for_a_burned_ticket_is_refused(ticket, token, make_order, alice, bob, minter):
    order = make_order(token)
    signature = sign_order(alice.private_key, ticket, order)
    ticket.revoke([token], {"from": minter})
    with reverts("NonexistentTicket", token):
        ticket.buyWithOrder(
            order_terms(order), *compact(signature), commitment(), {"from": bob, "value": GA_CAP}
        )


SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def test_malleable_high_s_signature_is_refused(ticket, token, make_order, alice, bob):
    order = make_order(token)
    signature = bytes.fromhex(sign_order(alice.private_key, ticket, order)[2:])
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    twin = r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])  # 27 <-> 28
    with reverts("InvalidOrder", token):
        ticket.buyWithOrder(
            order_terms(order),
            *compact("0x" + twin.hex()),
            commitment(),
            {"from": bob, "value": GA_CAP},
        )


def test_eip5267_domain_names_the_clone(ticket, chain):
    fields, name, version, chain_id, verifying_contract, salt, extensions = ticket.eip712Domain()
    assert (name, version, chain_id) == ("Fairgate Ticket", "1", chain.id)
    assert verifying_contract == ticket.address  # the clone, not the implementation
    assert fields == "0x0f"
    assert list(extensions) == []
    assert as_bytes32_hex(salt) == "0x" + "00" * 32
