"""Apply decoded chain events, in order, to an event's Merkle tree (pure: plain dicts in).

The chain layer decodes logs into dicts ``{"event": name, "args": {...}}`` (web3's shape; extra
keys such as ``blockNumber`` are ignored) and feeds them here in chain order:

* ``TicketsIssued(holder, tierId, orderRef, firstTokenId, commitments[])``: leaf
  ``firstTokenId + i`` = ``commitments[i]``;
* ``Resold(tokenId, seller, buyer, price, royalty, commitment)``: leaf replaced by the buyer's;
* ``CommitmentRotated(tokenId, commitment)``: leaf replaced (0 clears it);
* ``Transfer(from, to, tokenId)`` with ``to == 0x0``: burned (revoked or refunded), leaf 0.

Other events (and other ``Transfer``s: mints carry their commitments in ``TicketsIssued``) do not
change the tree. ``bytes32`` values may arrive as ``bytes`` (HexBytes) or ``0x`` hex strings.
A commitment at or above p, a token id outside the tree, or an event missing its arguments raises
ProofError: the indexer must not silently build a tree that the contracts' tree does not equal.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from fairgate.errors import ProofError
from zk.field import from_bytes32, from_hex
from zk.tree import CAPACITY, MerkleTree

log = logging.getLogger(__name__)

ZERO_ADDRESS = "0x" + "00" * 20
TREE_EVENTS = ("TicketsIssued", "Resold", "CommitmentRotated", "Transfer")


def _bytes32(value: Any, what: str) -> int:
    if isinstance(value, bytes | bytearray):
        return from_bytes32(bytes(value), what)
    if isinstance(value, str):
        return from_hex(value, what)
    raise ProofError(f"{what} must be bytes32", field=what)


def _uint(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProofError(f"{what} must be a uint256", field=what)
    return value


def _is_zero_address(value: Any) -> bool:
    if isinstance(value, bytes | bytearray):
        return not any(value)
    return isinstance(value, str) and value.lower() in (ZERO_ADDRESS, "0x0")


def leaf_updates(name: str, args: Mapping[str, Any]) -> list[tuple[int, int]]:
    """The ``(tokenId, leaf)`` writes one decoded event makes, in order (empty if none)."""
    if name == "TicketsIssued":
        first = _uint(args["firstTokenId"], "firstTokenId")
        return [
            (first + offset, _bytes32(raw, "commitment"))
            for offset, raw in enumerate(args["commitments"])
        ]
    if name in ("Resold", "CommitmentRotated"):
        return [(_uint(args["tokenId"], "tokenId"), _bytes32(args["commitment"], "commitment"))]
    if name == "Transfer" and _is_zero_address(args["to"]):
        return [(_uint(args["tokenId"], "tokenId"), 0)]
    return []


def _updates_of(event: Mapping[str, Any]) -> list[tuple[int, int]]:
    name = event.get("event")
    if name not in TREE_EVENTS:
        return []
    args = event.get("args")
    if not isinstance(args, Mapping):
        raise ProofError(f"{name} event has no args")
    try:
        return leaf_updates(str(name), args)
    except KeyError as exc:
        raise ProofError(f"{name} event lacks argument {exc.args[0]}") from None


class TreeSync:
    """Keeps a :class:`~zk.tree.MerkleTree` equal to the contract's leaves, event by event
    (incrementally: :meth:`zk.tree.MerkleTree.update` rehashes only what an event touches)."""

    def __init__(self, tree: MerkleTree | None = None) -> None:
        self.tree = tree if tree is not None else MerkleTree()
        self.applied = 0

    def apply(self, event: Mapping[str, Any]) -> bool:
        """Apply one decoded event; True if it wrote any leaf."""
        updates = _updates_of(event)
        if not updates:
            return False
        # only the touched paths are rehashed, so an append costs what it adds at any tree size
        self.tree.update(updates)
        self.applied += 1
        return True

    def apply_all(self, events: Iterable[Mapping[str, Any]]) -> int:
        """Apply events in order; returns the root afterwards."""
        for event in events:
            self.apply(event)
        return self.tree.root

    @property
    def root(self) -> int:
        """The tree's current root."""
        return self.tree.root


def _bulk(leaves: list[int], updates: Iterable[tuple[int, int]]) -> MerkleTree:
    for index, leaf in updates:
        if not 0 <= index < CAPACITY:
            raise ProofError("tokenId outside the tree", field="tokenId")
        if index >= len(leaves):
            leaves.extend([0] * (index + 1 - len(leaves)))
        leaves[index] = leaf
    return MerkleTree.from_leaves(leaves)


def tree_from_events(events: Iterable[Mapping[str, Any]]) -> MerkleTree:
    """A fresh tree rebuilt from an event contract's full log history (in chain order).

    The final value of every leaf is collected first, then the tree is built in bulk (one native
    call per level): cheaper than applying the history write by write when starting empty.
    """
    updates: list[tuple[int, int]] = []
    for event in events:
        updates.extend(_updates_of(event))
    tree = _bulk([], updates)
    log.debug("tree rebuilt from %d leaf writes", len(updates))
    return tree
