"""Batch minting by the bridge, primary ETH purchase, supply, commitments and exactly-once orders.

Minting does not depend on the transfer policy (MarketOnly here); test_policies.py checks what
Locked adds (ERC-5192 ``Locked`` events at mint).
"""

from __future__ import annotations

import brownie
import eth_abi
import pytest

from .conftest import GA, GA_FACE, VIP, VIP_FACE, tier
from .helpers import (
    FIELD,
    FREE,
    LOCKED,
    ZERO_ADDRESS,
    ZERO_BYTES32,
    as_bytes32_hex,
    bytes32,
    commitment,
    commitments,
    order_ref,
    reverts,
    warp,
)

# ----------------------------------------------------------------------------- batch mint


def test_mint_batch_single_holder_issues_consecutive_ids_with_their_commitments(
    ticket, minter, alice, policy
):
    values = commitments(4)
    ref = order_ref("single")
    tx = ticket.mintBatch(GA, [(alice, ref, values)], {"from": minter})

    issued = tx.events["TicketsIssued"]
    assert len(issued) == 1
    assert issued[0]["holder"] == alice
    assert issued[0]["tierId"] == GA
    assert as_bytes32_hex(issued[0]["orderRef"]) == ref
    assert issued[0]["firstTokenId"] == 0
    assert [as_bytes32_hex(c) for c in issued[0]["commitments"]] == values
    transfers = tx.events["Transfer"]
    assert [(t["from"], t["to"], t["tokenId"]) for t in transfers] == [
        (ZERO_ADDRESS, alice, i) for i in range(4)
    ]
    assert [ticket.ownerOf(i) for i in range(4)] == [alice] * 4
    assert ticket.balanceOf(alice) == 4
    assert ticket.nextTokenId() == 4
    assert ticket.tier(GA)[2] == 4  # minted
    assert ticket.orderFulfilled(ref)
    locked_ids = [e["tokenId"] for e in tx.events["Locked"]] if "Locked" in tx.events else []
    assert locked_ids == (list(range(4)) if policy == LOCKED else [])


def test_mint_batch_many_runs_gives_each_holder_its_own_run(ticket, minter, alice, bob, carol):
    runs = [
        (alice, order_ref("a"), commitments(2)),
        (bob, order_ref("b"), commitments(1)),
        (carol, order_ref("c"), commitments(3)),
    ]
    tx = ticket.mintBatch(GA, runs, {"from": minter})

    assert [e["firstTokenId"] for e in tx.events["TicketsIssued"]] == [0, 2, 3]
    owners = [ticket.ownerOf(i) for i in range(6)]
    assert owners == [alice, alice, bob, carol, carol, carol]
    assert (ticket.balanceOf(alice), ticket.balanceOf(bob), ticket.balanceOf(carol)) == (2, 1, 3)
    assert ticket.tier(GA)[2] == 6


def test_resent_run_is_skipped_and_nothing_is_minted_twice(ticket, minter, alice, bob):
    ref_a, ref_b = order_ref("paid-a"), order_ref("paid-b")
    ticket.mintBatch(GA, [(alice, ref_a, commitments(2))], {"from": minter})

    # The worker crashed after sending and resends the batch with one new order in it.
    tx = ticket.mintBatch(
        GA, [(alice, ref_a, commitments(2)), (bob, ref_b, commitments(1))], {"from": minter}
    )

    assert [as_bytes32_hex(e["orderRef"]) for e in tx.events["OrderAlreadyFulfilled"]] == [ref_a]
    assert len(tx.events["TicketsIssued"]) == 1
    assert tx.events["TicketsIssued"][0]["holder"] == bob
    assert tx.events["TicketsIssued"][0]["firstTokenId"] == 2
    assert ticket.balanceOf(alice) == 2
    assert ticket.nextTokenId() == 3
    assert ticket.tier(GA)[2] == 3


def test_fully_resent_batch_mints_nothing(ticket, minter, alice):
    runs = [(alice, order_ref("x"), commitments(2))]
    ticket.mintBatch(GA, runs, {"from": minter})
    tx = ticket.mintBatch(GA, runs, {"from": minter})
    assert "TicketsIssued" not in tx.events
    assert "Transfer" not in tx.events
    assert ticket.nextTokenId() == 2
    assert ticket.balanceOf(alice) == 2


def test_same_order_twice_in_one_batch_is_minted_once(ticket, minter, alice):
    ref = order_ref("dup")
    tx = ticket.mintBatch(
        GA, [(alice, ref, commitments(1)), (alice, ref, commitments(1))], {"from": minter}
    )
    assert len(tx.events["TicketsIssued"]) == 1
    assert len(tx.events["OrderAlreadyFulfilled"]) == 1
    assert ticket.balanceOf(alice) == 1


def test_sequential_order_refs_sharing_a_bitmap_word_are_independent(ticket, minter, alice):
    # Order refs 1, 2 and 255 share one word of the fulfilled bitmap; 257 is bit 1 of the next.
    ticket.mintBatch(GA, [(alice, bytes32(1), [commitment()])], {"from": minter})
    ticket.mintBatch(GA, [(alice, bytes32(257), [commitment()])], {"from": minter})
    assert ticket.orderFulfilled(bytes32(1))
    assert ticket.orderFulfilled(bytes32(257))
    assert not ticket.orderFulfilled(bytes32(2))
    assert not ticket.orderFulfilled(bytes32(255))
    assert not ticket.orderFulfilled(bytes32(256))
    tx = ticket.mintBatch(
        GA,
        [(alice, bytes32(2), [commitment()]), (alice, bytes32(1), [commitment()])],
        {"from": minter},
    )
    assert len(tx.events["TicketsIssued"]) == 1
    assert ticket.balanceOf(alice) == 3


def test_a_batch_across_bitmap_words_records_every_order_and_run(ticket, minter, alice, bob):
    # mintBatch keeps one word of each bitmap in memory and writes it when the next order or run
    # falls in another word: refs 250..261 and tickets 250..261 cross a word boundary each.
    ticket.mintBatch(GA, [(alice, bytes32(10_000), commitments(250))], {"from": minter})
    runs = [((alice, bob)[i % 2], bytes32(250 + i), [commitment()]) for i in range(12)]
    tx = ticket.mintBatch(GA, runs, {"from": minter})

    assert [e["firstTokenId"] for e in tx.events["TicketsIssued"]] == list(range(250, 262))
    assert all(ticket.orderFulfilled(bytes32(250 + i)) for i in range(12))
    assert not ticket.orderFulfilled(bytes32(249))
    assert not ticket.orderFulfilled(bytes32(262))
    # every run start was recorded: each ticket resolves to its own run's holder
    assert [ticket.ownerOf(250 + i) for i in range(12)] == [r[0] for r in runs]
    assert ticket.ownerOf(249) == alice
    # and resending the whole batch mints nothing
    again = ticket.mintBatch(GA, runs, {"from": minter})
    assert len(again.events["OrderAlreadyFulfilled"]) == 12
    assert ticket.nextTokenId() == 262


def _raw_mint_batch(ticket, minter, args: bytes):
    """Send mintBatch with hand-made calldata: the selector, then `args` as its arguments."""
    data = ticket.signatures["mintBatch"] + args.hex()
    return minter.transfer(ticket.address, 0, data=data, gas_limit=1_000_000)


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def test_mint_batch_refuses_malformed_calldata_and_mints_nothing(ticket, minter, alice):
    run = (alice.address, _word(7), [_word(12345)])
    good = eth_abi.encode(["uint256", "(address,bytes32,bytes32[])[]"], [GA, [run]])
    # words: 0 tierId, 1 runs offset, 2 runs length, 3 run 0 offset, 4 holder, 5 orderRef,
    # 6 commitments offset, 7 commitments length, 8 the commitment
    tx = _raw_mint_batch(ticket, minter, good)  # the hand-made path itself works
    assert tx.events["TicketsIssued"][0]["holder"] == alice

    def patched(index: int, value: int) -> bytes:
        return good[: 32 * index] + _word(value) + good[32 * (index + 1) :]

    bad = {
        "run offset past the calldata": patched(3, 2**64),
        "commitments offset past the calldata": patched(6, 2**64),
        "more commitments than the calldata holds": patched(7, 9),
        "a holder word with bits above the address": patched(
            4, (1 << 200) | int(alice.address, 16)
        ),
    }
    for name, args in bad.items():
        with brownie.reverts():
            _raw_mint_batch(ticket, minter, args)
        assert ticket.nextTokenId() == 1, name
    assert ticket.balanceOf(alice) == 1


def test_zero_order_ref_is_not_exactly_once(ticket, minter, alice):
    run = (alice, ZERO_BYTES32, commitments(1))
    ticket.mintBatch(GA, [run], {"from": minter})
    ticket.mintBatch(GA, [run], {"from": minter})
    assert ticket.balanceOf(alice) == 2
    assert not ticket.orderFulfilled(ZERO_BYTES32)


def test_organizer_holds_the_minter_role(ticket, organizer, alice):
    ticket.mintBatch(GA, [(alice, order_ref(), commitments(1))], {"from": organizer})
    assert ticket.ownerOf(0) == alice


def test_mint_batch_needs_the_minter_role(ticket, gate, stranger, alice):
    for account in (gate, stranger, alice):
        with reverts("MissingRole", account, 1):
            ticket.mintBatch(GA, [(alice, order_ref(), commitments(1))], {"from": account})


def test_mint_batch_refuses_to_exceed_supply(ticket, minter, alice, bob):
    ticket.mintBatch(VIP, [(alice, order_ref(), commitments(2))], {"from": minter})
    with reverts("SoldOut", VIP, 2, 1):
        ticket.mintBatch(
            VIP,
            [(alice, order_ref(), commitments(1)), (bob, order_ref(), commitments(1))],
            {"from": minter},
        )
    ticket.mintBatch(VIP, [(bob, order_ref(), commitments(1))], {"from": minter})
    assert ticket.tier(VIP)[2] == 3
    with reverts("SoldOut", VIP, 1, 0):
        ticket.mintBatch(VIP, [(bob, order_ref(), commitments(1))], {"from": minter})


def test_a_refused_batch_does_not_mark_its_orders_fulfilled(ticket, minter, alice):
    ref = order_ref("too-many")
    with reverts("SoldOut"):
        ticket.mintBatch(VIP, [(alice, ref, commitments(4))], {"from": minter})
    assert not ticket.orderFulfilled(ref)


@pytest.mark.parametrize(
    "bad", [0, FIELD, FIELD + 1, 2**256 - 1], ids=["zero", "modulus", "modulus+1", "max"]
)
def test_mint_batch_refuses_invalid_commitments(ticket, minter, alice, bad):
    values = [commitment(), bytes32(bad)]
    with reverts("InvalidCommitment", bytes32(bad)):
        ticket.mintBatch(GA, [(alice, order_ref(), values)], {"from": minter})


def test_largest_field_element_is_a_valid_commitment(ticket, minter, alice):
    ticket.mintBatch(GA, [(alice, order_ref(), [bytes32(FIELD - 1), bytes32(1)])], {"from": minter})
    assert ticket.balanceOf(alice) == 2


def test_mint_batch_refuses_an_empty_run_and_the_zero_holder(ticket, minter, alice):
    with reverts("LengthMismatch"):
        ticket.mintBatch(GA, [(alice, order_ref(), [])], {"from": minter})
    with reverts("InvalidReceiver", ZERO_ADDRESS):
        ticket.mintBatch(GA, [(ZERO_ADDRESS, order_ref(), commitments(1))], {"from": minter})


def test_mint_batch_refuses_an_unknown_tier(ticket, minter, alice):
    with reverts("UnknownTier", 2):
        ticket.mintBatch(2, [(alice, order_ref(), commitments(1))], {"from": minter})


def test_minting_and_sales_close_when_the_event_ends(ticket, minter, alice, schedule):
    warp(schedule.ends)
    with reverts("SalesClosed"):
        ticket.mintBatch(GA, [(alice, order_ref(), commitments(1))], {"from": minter})
    with reverts("SalesClosed"):
        ticket.purchase(GA, commitments(1), {"from": alice, "value": GA_FACE})


def test_minting_and_sales_close_when_the_event_is_cancelled(ticket, minter, organizer, alice):
    ticket.cancel({"from": organizer})
    with reverts("EventCancelled"):
        ticket.mintBatch(GA, [(alice, order_ref(), commitments(1))], {"from": minter})
    with reverts("EventCancelled"):
        ticket.purchase(GA, commitments(1), {"from": alice, "value": GA_FACE})


# ----------------------------------------------------------------------------- ETH purchase


def test_purchase_at_exact_face_value_mints_to_the_buyer_and_escrows(ticket, alice):
    before = ticket.balance()
    tx = ticket.purchase(GA, commitments(3), {"from": alice, "value": 3 * GA_FACE})

    issued = tx.events["TicketsIssued"][0]
    assert issued["holder"] == alice
    assert as_bytes32_hex(issued["orderRef"]) == ZERO_BYTES32
    assert [ticket.ownerOf(i) for i in range(3)] == [alice] * 3
    assert all(ticket.paidInEth(i) for i in range(3))
    assert ticket.escrowBalance() == 3 * GA_FACE
    assert ticket.balance() - before == 3 * GA_FACE
    assert ticket.royaltyBalance() == 0


@pytest.mark.parametrize(
    "delta", [-1, 1, -GA_FACE], ids=["one-wei-short", "one-wei-over", "one-ticket-short"]
)
def test_purchase_refuses_any_other_payment(ticket, alice, delta):
    sent = 2 * GA_FACE + delta
    with reverts("WrongPayment", sent, 2 * GA_FACE):
        ticket.purchase(GA, commitments(2), {"from": alice, "value": sent})
    assert ticket.escrowBalance() == 0


def test_card_tickets_are_not_paid_in_eth(ticket, mint, alice):
    (token,) = mint(alice)
    assert not ticket.paidInEth(token)


def test_purchase_refuses_beyond_supply(ticket, alice):
    ticket.purchase(VIP, commitments(3), {"from": alice, "value": 3 * VIP_FACE})
    with reverts("SoldOut", VIP, 1, 0):
        ticket.purchase(VIP, commitments(1), {"from": alice, "value": VIP_FACE})
    assert ticket.escrowBalance() == 3 * VIP_FACE


def test_purchase_refuses_empty_invalid_and_unsellable(ticket, organizer, alice):
    with reverts("LengthMismatch"):
        ticket.purchase(GA, [], {"from": alice, "value": 0})
    with reverts("InvalidCommitment", ZERO_BYTES32):
        ticket.purchase(GA, [ZERO_BYTES32], {"from": alice, "value": GA_FACE})
    with reverts("InvalidCommitment", bytes32(FIELD)):
        ticket.purchase(GA, [bytes32(FIELD)], {"from": alice, "value": GA_FACE})
    with reverts("UnknownTier", 7):
        ticket.purchase(7, commitments(1), {"from": alice, "value": GA_FACE})
    comp = ticket.addTier(tier(0, 10), {"from": organizer}).events["TierAdded"]["tierId"]
    with reverts("InvalidParameter", "tier not for sale"):
        ticket.purchase(comp, commitments(1), {"from": alice, "value": 0})


# ----------------------------------------------------------------------------- ownership


def test_owner_of_resolves_token_zero_late_tokens_and_the_last_token(
    ticket, minter, alice, bob, carol
):
    # 5 + 300 + 2: the 300-ticket run starts at id 5 and spans bitmap words 0 and 1 (ids 0-255
    # and 256-511); its late tickets must resolve to its holder, not to the runs around it.
    ticket.mintBatch(GA, [(alice, order_ref(), commitments(5))], {"from": minter})
    ticket.mintBatch(GA, [(bob, order_ref(), commitments(300))], {"from": minter})
    ticket.mintBatch(GA, [(carol, order_ref(), commitments(2))], {"from": minter})

    assert ticket.ownerOf(0) == alice
    assert ticket.ownerOf(4) == alice
    for token in (5, 6, 255, 256, 257, 303, 304):
        assert ticket.ownerOf(token) == bob, token
    assert ticket.ownerOf(305) == carol
    assert ticket.ownerOf(306) == carol  # the last token
    assert ticket.balanceOf(bob) == 300
    assert ticket.nextTokenId() == 307
    with reverts("NonexistentTicket", 307):
        ticket.ownerOf(307)


def test_one_ticket_orders_pack_their_owners_and_read_back(ticket, minter, fans, stranger):
    """Consecutive one-ticket runs share a dense segment (one record, owners packed 160 bits
    each, 8 in 5 storage words): every owner, balance and the runs around it read back, across
    words, batches and a multi-ticket run in the middle."""
    holders = [fans[i % 4] for i in range(11)] + [stranger]
    first = [(h, order_ref(), commitments(1)) for h in holders[:7]]
    middle = (stranger, order_ref(), commitments(3))
    last = [(h, order_ref(), commitments(1)) for h in holders[7:]]
    ticket.mintBatch(GA, [*first, middle, *last], {"from": minter})
    # a later batch continues in the packed word the first one left half full
    ticket.mintBatch(GA, [(h, order_ref(), commitments(1)) for h in holders[:3]], {"from": minter})

    expected = holders[:7] + [stranger] * 3 + holders[7:] + holders[:3]
    assert [ticket.ownerOf(i) for i in range(len(expected))] == expected
    for account in set(expected):
        assert ticket.balanceOf(account) == expected.count(account)
    assert ticket.nextTokenId() == len(expected)


def test_packed_tickets_resell_burn_and_refund_like_any_other(
    ticket, minter, organizer, fans, carol
):
    alice, bob = fans[0], fans[1]
    runs = [(fans[i % 2], order_ref(), commitments(1)) for i in range(10)]
    ticket.mintBatch(GA, runs, {"from": minter})
    # ticket 8 straddles two packed words (bits 1280-1439 are words 5 and 5-6)
    for token in (0, 3, 8, 9):
        seller = fans[token % 2]
        ticket.list(token, GA_FACE, ZERO_ADDRESS, {"from": seller})
        ticket.buy(token, commitment(), {"from": carol, "value": GA_FACE})
        assert ticket.ownerOf(token) == carol
    assert ticket.balanceOf(carol) == 4
    assert [ticket.ownerOf(i) for i in (1, 2, 4, 5, 6, 7)] == [bob, alice, alice, bob, alice, bob]
    ticket.revoke([2], {"from": minter})
    with reverts("NonexistentTicket", 2):
        ticket.ownerOf(2)
    assert ticket.balanceOf(alice) == 2


def test_one_ticket_orders_cost_less_than_a_plain_erc721_mint(
    ticket, minter, BaselineERC721, deployer, accounts
):
    """The per-ticket gas of 100 one-ticket orders to new holders stays under OpenZeppelin's
    `_mint` of one token each (scripts/bench_gas.py measures the same with its margin)."""
    fresh = [accounts.add().address for _ in range(101)]
    # sequential order refs, as the bridge sends them (its order ids): they share bitmap words
    refs = [bytes32(1_000 + i) for i in range(101)]
    one = ticket.mintBatch(GA, [(fresh[0], refs[0], commitments(1))], {"from": minter})
    runs = [(h, ref, commitments(1)) for h, ref in zip(fresh[1:], refs[1:], strict=True)]
    hundred = ticket.mintBatch(GA, runs, {"from": minter})
    ours = (hundred.gas_used - one.gas_used) / 99
    baseline = BaselineERC721.deploy({"from": deployer})
    others = [accounts.add().address for _ in range(101)]
    b_one = baseline.mintEach(others[:1], {"from": deployer}).gas_used
    b_hundred = baseline.mintEach(others[1:], {"from": deployer}).gas_used
    assert ours < (b_hundred - b_one) / 99


def test_owner_of_a_late_token_costs_little_gas(ticket, minter, alice, bob):
    ticket.mintBatch(GA, [(alice, order_ref(), commitments(1))], {"from": minter})
    ticket.mintBatch(GA, [(bob, order_ref(), commitments(300))], {"from": minter})
    # A late ticket reads one more bitmap word than an early one, not a backward scan over the
    # run (ERC721A's lookup would cost ~290,000 gas here).
    early = ticket.ownerOf.estimate_gas(2, {"from": alice})
    late = ticket.ownerOf.estimate_gas(300, {"from": alice})
    assert late - early < 5_000


def test_balance_of_zero_address_is_refused(ticket):
    with reverts("InvalidParameter", "owner"):
        ticket.balanceOf(ZERO_ADDRESS)


def test_tier_of_and_moves_of_fresh_tickets(ticket, mint, alice):
    (ga,) = mint(alice)
    (vip,) = mint(alice, tier_id=VIP)
    assert (ticket.tierOf(ga), ticket.tierOf(vip)) == (GA, VIP)
    assert ticket.movesOf(ga) == 0


# ----------------------------------------------------------------------------- metadata


def test_token_uri_is_base_plus_tier_and_follows_the_base(ticket, mint, organizer, alice):
    ids = mint(alice, 12)
    vip = mint(alice, 1, tier_id=VIP)[0]
    assert ticket.tokenURI(11).endswith(f"/{GA}")
    assert ticket.tokenURI(vip).endswith(f"/{VIP}")
    assert ticket.tokenURI(0).startswith("ipfs://")
    tx = ticket.setBaseURI("ipfs://new/tiers/", {"from": organizer})
    assert tx.events["BatchMetadataUpdate"]["fromTokenId"] == 0
    assert tx.events["BatchMetadataUpdate"]["toTokenId"] == 2**256 - 1
    assert ticket.tokenURI(ids[3]) == f"ipfs://new/tiers/{GA}"
    ticket.setBaseURI("", {"from": organizer})
    assert ticket.tokenURI(0) == ""
    with reverts("NonexistentTicket", vip + 1):
        ticket.tokenURI(vip + 1)


def test_name_and_symbol(ticket):
    assert (ticket.name(), ticket.symbol()) == ("Fairgate Live", "FGL")


def test_royalty_info_pays_the_organizer_the_tier_royalty(ticket, mint, organizer, alice):
    (ga,) = mint(alice)
    (vip,) = mint(alice, tier_id=VIP)
    assert tuple(ticket.royaltyInfo(ga, 10_000)) == (organizer, 500)
    assert tuple(ticket.royaltyInfo(vip, 10_000)) == (organizer, 1_000)
    assert tuple(ticket.royaltyInfo(ga, 19)) == (organizer, 0)  # rounds down
    with reverts("NonexistentTicket", 5):
        ticket.royaltyInfo(5, 1)


@pytest.mark.parametrize(
    "interface_id, supported",
    [
        ("0x01ffc9a7", True),  # ERC-165
        ("0x80ac58cd", True),  # ERC-721
        ("0x5b5e139f", True),  # ERC-721 metadata
        ("0x2a55205a", True),  # ERC-2981
        ("0xb45a3c0e", True),  # ERC-5192
        ("0x49064906", True),  # ERC-4906
        ("0x780e9d63", False),  # ERC-721 enumerable
        ("0xffffffff", False),  # never, by ERC-165
    ],
)
def test_supports_interface(ticket, interface_id, supported):
    assert ticket.supportsInterface(interface_id) is supported


def test_locked_follows_policy_and_resale_window(ticket, mint, alice, schedule, policy):
    (token,) = mint(alice)
    assert ticket.locked(token) is (policy != FREE)  # a plain transfer works under Free only
    warp(schedule.resale_closes)
    assert ticket.locked(token) is True
    with reverts("NonexistentTicket", 9):
        ticket.locked(9)


def test_a_run_holds_at_most_1024_tickets(create_event, schedule, minter, alice):
    # finding a ticket's run scans at most four bitmap words
    big = create_event(tiers=[tier(GA_FACE, 3_000, closes=schedule.resale_closes)])
    with reverts("InvalidParameter", "run longer than 1024 tickets"):
        big.mintBatch(GA, [(alice, order_ref(), commitments(1025))], {"from": minter})
    big.mintBatch(GA, [(alice, order_ref(), commitments(3))], {"from": minter})
    tx = big.mintBatch(GA, [(alice, order_ref(), commitments(1024))], {"from": minter})
    assert tx.events["TicketsIssued"][0]["firstTokenId"] == 3
    assert big.ownerOf(3 + 1023) == alice  # four bitmap words from its run's start
    assert big.balanceOf(alice) == 1027
