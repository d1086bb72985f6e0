"""The event's Poseidon Merkle tree of holder commitments (depth 20, the contracts' layout).

Leaf ``i`` is the commitment of ERC-721 token ``i`` (0 when empty, revoked or burned); a node is
``Poseidon(left, right)``. The tree is sparse: only levels up to the highest used index are
stored (as packed 32-byte little-endian buffers, the native kernel's layout); any node beyond
them is the precomputed zero-subtree hash of its level.

* :meth:`MerkleTree.from_leaves` builds level by level (one native call per level, two threads);
* :meth:`MerkleTree.set` updates one leaf and its 20 ancestors;
* :meth:`MerkleTree.update` writes many leaves and rehashes only the paths they touch, each
  level's touched runs in one native call (a batch of k consecutive leaves costs about
  k + 20 * log2(k) hashes, whatever the tree already holds);
* :meth:`MerkleTree.proof` gives the siblings the circuit takes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from fairgate.errors import ProofError
from zk.field import element
from zk.poseidon import hash2, hash_level

DEPTH = 20
CAPACITY = 1 << DEPTH
_W = 32  # bytes per node


@lru_cache(maxsize=4)
def zero_hashes(depth: int = DEPTH) -> tuple[int, ...]:
    """``z[0] = 0``, ``z[k+1] = Poseidon(z[k], z[k])``: the root of an empty subtree of height k."""
    zeros = [0]
    for _ in range(depth):
        zeros.append(hash2(zeros[-1], zeros[-1]))
    return tuple(zeros)


@dataclass(frozen=True)
class MerkleProof:
    """A membership path: ``siblings[k]`` is the sibling at height k (bottom first)."""

    index: int
    leaf: int
    siblings: tuple[int, ...]
    root: int

    def compute_root(self) -> int:
        """The root this path leads to from ``leaf`` (checks the path in Python)."""
        return root_from_path(self.leaf, self.index, self.siblings)


def root_from_path(leaf: int, index: int, siblings: Sequence[int]) -> int:
    """Fold a path up to the root, as the circuit does."""
    node = leaf
    for height, sibling in enumerate(siblings):
        node = hash2(sibling, node) if (index >> height) & 1 else hash2(node, sibling)
    return node


def _check_index(index: int) -> int:
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < CAPACITY:
        raise ProofError(f"leaf index must be in [0, 2^{DEPTH})", field="index")
    return index


class MerkleTree:
    """A depth-20 sparse Poseidon Merkle tree with incremental updates."""

    def __init__(self) -> None:
        self._zeros = zero_hashes(DEPTH)
        self._zero_bytes = [z.to_bytes(_W, "little") for z in self._zeros]
        # levels[k] holds the nodes of height k from index 0 up to the used width (packed LE)
        self._levels: list[bytearray] = [bytearray() for _ in range(DEPTH + 1)]

    # ------------------------------------------------------------------ building
    @classmethod
    def from_leaves(cls, leaves: Sequence[int]) -> MerkleTree:
        """A tree with ``leaves[i]`` at index ``i`` (bulk build, level by level)."""
        if len(leaves) > CAPACITY:
            raise ProofError(f"at most 2^{DEPTH} leaves")
        tree = cls()
        level = bytearray(b"".join(element(x, "leaf").to_bytes(_W, "little") for x in leaves))
        for height in range(DEPTH):
            tree._levels[height] = level
            if not level:
                break
            data = bytes(level)
            if (len(level) // _W) % 2:
                data += tree._zero_bytes[height]
            level = bytearray(hash_level(data))
        else:
            tree._levels[DEPTH] = level
        return tree

    # ------------------------------------------------------------------ reading
    @property
    def depth(self) -> int:
        """Always 20 (the contracts' depth)."""
        return DEPTH

    @property
    def width(self) -> int:
        """One past the highest leaf index ever set (the stored width of level 0)."""
        return len(self._levels[0]) // _W

    def node(self, height: int, index: int) -> int:
        """The node at ``height`` (0 = leaves) and position ``index`` in its level."""
        level = self._levels[height]
        start = index * _W
        if start >= len(level):
            return self._zeros[height]
        return int.from_bytes(level[start : start + _W], "little")

    def leaf(self, index: int) -> int:
        """The leaf at ``index`` (0 if never set)."""
        return self.node(0, _check_index(index))

    @property
    def root(self) -> int:
        """The current root."""
        return self.node(DEPTH, 0)

    def proof(self, index: int) -> MerkleProof:
        """The path of leaf ``index`` (siblings bottom first) and the current root."""
        _check_index(index)
        siblings = tuple(self.node(h, (index >> h) ^ 1) for h in range(DEPTH))
        return MerkleProof(index=index, leaf=self.leaf(index), siblings=siblings, root=self.root)

    def leaves(self) -> list[int]:
        """All stored leaves, index order (up to :attr:`width`)."""
        level = self._levels[0]
        return [int.from_bytes(level[i : i + _W], "little") for i in range(0, len(level), _W)]

    # ------------------------------------------------------------------ updating
    def _grow(self, height: int, width: int) -> None:
        level = self._levels[height]
        missing = width - len(level) // _W
        if missing > 0:
            level += self._zero_bytes[height] * missing

    def update(self, updates: Iterable[tuple[int, int]]) -> int:
        """Write ``(index, leaf)`` pairs in order (a later write to an index wins) and rehash the
        touched paths only; returns the root. Equal to calling :meth:`set` for each pair, and to
        :meth:`from_leaves` of the resulting leaves."""
        # every write is checked before any is made: a bad one leaves the tree as it was
        writes = [
            (_check_index(index), element(leaf, "leaf").to_bytes(_W, "little"))
            for index, leaf in updates
        ]
        if not writes:
            return self.root
        self._grow(0, max(index for index, _ in writes) + 1)
        level0 = self._levels[0]
        for index, data in writes:
            level0[index * _W : (index + 1) * _W] = data
        runs = _runs(sorted({index for index, _ in writes}))
        for height in range(DEPTH):
            child = self._levels[height]
            child_width = len(child) // _W
            runs = _runs_above(runs)
            self._grow(height + 1, runs[-1][1] + 1)
            parent = self._levels[height + 1]
            for first, last in runs:
                data = bytes(child[2 * first * _W : min(2 * last + 2, child_width) * _W])
                if 2 * last + 2 > child_width:
                    data += self._zero_bytes[height]  # the odd last node's empty sibling
                parent[first * _W : (last + 1) * _W] = hash_level(data)
        return self.root

    def set(self, index: int, leaf: int) -> int:
        """Put ``leaf`` at ``index`` (0 clears it) and update its ancestors; returns the root."""
        _check_index(index)
        element(leaf, "leaf")
        node = leaf
        pos = index
        for height in range(DEPTH + 1):
            self._grow(height, pos + 1)
            self._levels[height][pos * _W : (pos + 1) * _W] = node.to_bytes(_W, "little")
            if height == DEPTH:
                break
            sibling = self.node(height, pos ^ 1)
            node = hash2(sibling, node) if pos & 1 else hash2(node, sibling)
            pos >>= 1
        return node

    def __repr__(self) -> str:
        return f"MerkleTree(depth={DEPTH}, width={self.width}, root={self.root:#x})"


def _runs(indexes: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted distinct indexes as inclusive runs of consecutive ones."""
    runs: list[tuple[int, int]] = []
    for i in indexes:
        if runs and runs[-1][1] + 1 == i:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def _runs_above(runs: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The parents of runs of nodes, as runs (runs that meet one level up are merged)."""
    out: list[tuple[int, int]] = []
    for first, last in runs:
        first, last = first >> 1, last >> 1
        if out and out[-1][1] + 1 >= first:
            out[-1] = (out[-1][0], max(out[-1][1], last))
        else:
            out.append((first, last))
    return out
