"""The depth-20 tree: bulk build, incremental updates, proofs, and rebuilding from events."""

from __future__ import annotations

import secrets

import pytest
from hexbytes import HexBytes

from fairgate.errors import ProofError
from zk.field import P
from zk.poseidon import reference_hash2
from zk.tree import DEPTH, MerkleTree, root_from_path, zero_hashes
from zk.tree_sync import TreeSync, tree_from_events


def _leaves(n: int) -> list[int]:
    return [secrets.randbelow(P - 1) + 1 for _ in range(n)]


def _reference_root(leaves: list[int]) -> int:
    level = list(leaves)
    for height in range(DEPTH):
        if len(level) % 2:
            level.append(zero_hashes()[height])
        level = [reference_hash2(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0] if level else zero_hashes()[DEPTH]


def test_empty_and_reference_roots() -> None:
    assert MerkleTree().root == zero_hashes()[DEPTH]
    leaves = _leaves(13)
    assert MerkleTree.from_leaves(leaves).root == _reference_root(leaves)


def test_incremental_updates_equal_rebuild() -> None:
    leaves = _leaves(300)
    tree = MerkleTree()
    for i, leaf in enumerate(leaves):
        tree.set(i, leaf)
    assert tree.root == MerkleTree.from_leaves(leaves).root
    leaves[17] = 0
    tree.set(17, 0)
    leaves[299] = 5
    tree.set(299, 5)
    assert tree.root == MerkleTree.from_leaves(leaves).root


def test_last_index_uses_zero_subtrees() -> None:
    far = 2**DEPTH - 1
    tree = MerkleTree()
    tree.set(far, 7)
    node = 7
    for height in range(DEPTH):
        node = reference_hash2(zero_hashes()[height], node)  # far is a right child everywhere
    assert tree.root == node
    assert tree.proof(far).siblings == zero_hashes()[:DEPTH]


def test_proofs_lead_to_the_root() -> None:
    tree = MerkleTree.from_leaves(_leaves(37))
    for index in (0, 1, 36, 1000):
        proof = tree.proof(index)
        assert len(proof.siblings) == DEPTH
        assert root_from_path(proof.leaf, index, proof.siblings) == tree.root


@pytest.mark.parametrize("index", [-1, 2**DEPTH])
def test_index_range(index: int) -> None:
    with pytest.raises(ProofError):
        MerkleTree().set(index, 1)


def test_leaf_must_be_in_field() -> None:
    with pytest.raises(ProofError):
        MerkleTree().set(0, P)


def _b32(x: int) -> HexBytes:
    return HexBytes(x.to_bytes(32, "big"))


def test_tree_sync_applies_chain_events() -> None:
    c = _leaves(6)
    zero = "0x" + "00" * 20
    alice, bob = "0x" + "aa" * 20, "0x" + "bb" * 20
    events = [
        {"event": "Transfer", "args": {"from": zero, "to": alice, "tokenId": 0}},  # mint: ignored
        {
            "event": "TicketsIssued",
            "args": {
                "holder": alice,
                "tierId": 0,
                "orderRef": _b32(1),
                "firstTokenId": 0,
                "commitments": [_b32(x) for x in c[:3]],
            },
        },
        {
            "event": "TicketsIssued",
            "args": {
                "holder": bob,
                "tierId": 1,
                "orderRef": _b32(2),
                "firstTokenId": 3,
                "commitments": [f"0x{c[3]:064x}"],
            },
        },
        {
            "event": "Resold",
            "args": {
                "tokenId": 1,
                "seller": alice,
                "buyer": bob,
                "price": 10,
                "royalty": 1,
                "commitment": _b32(c[4]),
            },
        },
        {"event": "CommitmentRotated", "args": {"tokenId": 2, "commitment": _b32(c[5])}},
        {"event": "CommitmentRotated", "args": {"tokenId": 3, "commitment": _b32(0)}},
        {"event": "Transfer", "args": {"from": alice, "to": zero, "tokenId": 0}},  # burned
        {"event": "Transfer", "args": {"from": bob, "to": alice, "tokenId": 1}},  # no leaf change
        {"event": "RootPublished", "args": {"root": _b32(1)}},  # not a tree event
    ]
    expected = MerkleTree.from_leaves([0, c[4], c[5], 0]).root
    sync = TreeSync()
    assert sync.apply_all(events) == expected
    assert tree_from_events(events).root == expected


def test_tree_sync_bulk_batch_equals_incremental() -> None:
    c = _leaves(600)
    events = [
        {
            "event": "TicketsIssued",
            "args": {
                "holder": "0x" + "aa" * 20,
                "tierId": 0,
                "orderRef": _b32(1),
                "firstTokenId": 5,
                "commitments": [_b32(x) for x in c],
            },
        }
    ]
    sync = TreeSync()
    sync.apply_all(events)
    assert sync.root == MerkleTree.from_leaves([0] * 5 + c).root


def test_tree_sync_refuses_bad_events() -> None:
    sync = TreeSync()
    with pytest.raises(ProofError):
        sync.apply({"event": "CommitmentRotated", "args": {"tokenId": 0, "commitment": _b32(P)}})
    with pytest.raises(ProofError):
        sync.apply({"event": "Resold", "args": {"tokenId": 0}})
    with pytest.raises(ProofError):
        sync.apply(
            {"event": "CommitmentRotated", "args": {"tokenId": 2**20, "commitment": _b32(1)}}
        )
