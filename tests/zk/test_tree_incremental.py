"""Incremental tree updates equal a from-scratch build, for random event histories.

A history is a random sequence of mints (``TicketsIssued`` in random batch sizes, token ids
consecutive as the contract gives them), resales, burns (``Transfer`` to the zero address),
rotations (some to 0), and plain transfers that change nothing. ``TreeSync`` applies it event by
event through :meth:`zk.tree.MerkleTree.update` (only the touched paths rehashed); after every
event its root must equal :meth:`MerkleTree.from_leaves` of a plain leaf list kept beside it, and
at the end :func:`tree_from_events` (the bulk rebuild) must agree too. Histories that start near
the tree's last index are compared once, at the end, with a tree built leaf by leaf.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fairgate.errors import ProofError
from zk.field import P
from zk.tree import CAPACITY, MerkleTree
from zk.tree_sync import TreeSync, tree_from_events

ZERO = "0x" + "00" * 20
ALICE = "0x" + "a1" * 20
BOB = "0x" + "b0" * 20

commitment = st.integers(min_value=1, max_value=P - 1)
# ("mint", k, seed) | ("resell" | "rotate" | "burn" | "gift", pick, value); a pick is taken modulo
# the tickets in range: bounded, so an unbounded integer cannot overrun Hypothesis's buffer
# (HealthCheck.data_too_large failed the test once in CI)
PICK = st.integers(0, 2**20)
step = st.one_of(
    st.tuples(st.just("mint"), st.integers(1, 40), st.integers(0, 2**32)),
    st.tuples(st.sampled_from(["resell", "rotate", "burn", "gift"]), PICK, commitment),
    st.tuples(st.just("rotate"), PICK, st.just(0)),
)


def _b32(value: int) -> str:
    return f"0x{value:064x}"


def _commitments(k: int, seed: int) -> list[int]:
    return [(seed * 1_000_003 + i * 7_919 + 1) % (P - 1) + 1 for i in range(k)]


def _issued(first: int, commitments: list[int]) -> dict[str, Any]:
    return {
        "event": "TicketsIssued",
        "args": {
            "holder": ALICE,
            "tierId": 0,
            "orderRef": _b32(first + 1),
            "firstTokenId": first,
            "commitments": [_b32(c) for c in commitments],
        },
    }


def history(steps: list[tuple[str, int, int]], first_id: int) -> list[dict[str, Any]]:
    """Events for ``steps``; token ids start at ``first_id`` (a tree that already holds some)."""
    events: list[dict[str, Any]] = []
    minted = first_id
    low = first_id - 40 if first_id > CAPACITY // 2 else 0  # resales etc. pick from low..minted
    for kind, a, b in steps:
        if kind == "mint":
            k = min(a, CAPACITY - minted)
            if k == 0:
                continue
            events.append(_issued(minted, _commitments(k, b)))
            minted += k
            continue
        if minted == low:
            continue
        token = low + a % (minted - low)
        if kind == "resell":
            args = {"tokenId": token, "seller": ALICE, "buyer": BOB, "price": 1, "royalty": 0}
            events.append({"event": "Resold", "args": {**args, "commitment": _b32(b)}})
        elif kind == "rotate":
            args = {"tokenId": token, "commitment": _b32(b)}
            events.append({"event": "CommitmentRotated", "args": args})
        else:  # a burn, or a plain transfer that moves no commitment
            args = {"from": ALICE, "to": ZERO if kind == "burn" else BOB, "tokenId": token}
            events.append({"event": "Transfer", "args": args})
    return events


def _model(leaves: dict[int, int], event: dict[str, Any]) -> None:
    name, args = event["event"], event["args"]
    writes: list[tuple[int, int]] = []
    if name == "TicketsIssued":
        first = args["firstTokenId"]
        writes = [(first + i, int(c, 16)) for i, c in enumerate(args["commitments"])]
    elif name in ("Resold", "CommitmentRotated"):
        writes = [(args["tokenId"], int(args["commitment"], 16))]
    elif name == "Transfer" and args["to"] == ZERO:
        writes = [(args["tokenId"], 0)]
    for index, leaf in writes:
        leaves[index] = leaf


def _flat(leaves: dict[int, int]) -> list[int]:
    flat = [0] * (max(leaves, default=-1) + 1)
    for index, leaf in leaves.items():
        flat[index] = leaf
    return flat


def _from_scratch(leaves: dict[int, int]) -> MerkleTree:
    """A fresh tree from the final leaves: built in bulk when they are low, leaf by leaf (the
    single-leaf path) when they sit near the top of the tree, where a bulk build would hash a
    million leaves."""
    if not leaves or max(leaves) < 10_000:
        return MerkleTree.from_leaves(_flat(leaves))
    tree = MerkleTree()
    for index, leaf in sorted(leaves.items()):
        if leaf:
            tree.set(index, leaf)
    return tree


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    prefix=st.integers(0, 40),
    steps=st.lists(step, min_size=1, max_size=15),
    high=st.booleans(),
)
def test_random_histories_give_the_same_roots_incrementally_and_from_scratch(
    prefix: int, steps: list[tuple[str, int, int]], high: bool
) -> None:
    # a tree that already holds ``prefix`` tickets; ``high`` starts near the tree's last index
    start = CAPACITY - 200 if high else 0
    leaves = {start + i: c for i, c in enumerate(_commitments(prefix, 99))}
    sync = TreeSync(_from_scratch(leaves))
    events = history(steps, start + prefix)
    for event in events:
        sync.apply(event)
        _model(leaves, event)
        if not high:  # near the top a from-scratch build is leaf by leaf: once, at the end
            assert sync.root == MerkleTree.from_leaves(_flat(leaves)).root
    assert sync.root == _from_scratch(leaves).root
    for index, leaf in leaves.items():
        assert sync.tree.leaf(index) == leaf
    if not high:  # the bulk rebuild from the whole history
        seed = _issued(0, _commitments(prefix, 99))
        assert tree_from_events([seed, *events]).root == sync.root


@settings(max_examples=25, deadline=None)
@given(
    width=st.integers(0, 300),
    writes=st.lists(st.tuples(st.integers(0, 600), commitment | st.just(0)), max_size=60),
)
def test_update_equals_set_one_by_one(width: int, writes: list[tuple[int, int]]) -> None:
    base = _commitments(width, 7)
    batch, single = MerkleTree.from_leaves(base), MerkleTree.from_leaves(base)
    for index, leaf in writes:
        single.set(index, leaf)
    assert batch.update(writes) == single.root
    assert batch.leaves() == single.leaves() and batch.width == single.width
    for index in {0, width, *(i for i, _ in writes)}:
        assert batch.proof(index) == single.proof(index)


def test_an_append_at_a_big_tree_touches_only_its_paths() -> None:
    base = _commitments(5_000, 3)
    tree = MerkleTree.from_leaves(base)
    batch = [(5_000 + i, c) for i, c in enumerate(_commitments(1_000, 4))]
    tree.update(batch)
    assert tree.root == MerkleTree.from_leaves(base + [c for _, c in batch]).root


def test_a_bad_write_in_a_batch_changes_nothing() -> None:
    tree = MerkleTree.from_leaves(_commitments(4, 1))
    before = (tree.root, tree.leaves())
    with pytest.raises(ProofError):
        tree.update([(9, 5), (CAPACITY, 1)])
    with pytest.raises(ProofError):
        tree.update([(1, 5), (2, P)])
    assert (tree.root, tree.leaves()) == before
    assert tree.update([]) == before[0]
