"""The event's Poseidon Merkle tree of holder commitments (depth 20, the contracts' layout).

Leaf ``i`` is the commitment of ERC-721 token ``i`` (0 when empty, revoked or burned); a node is
``Poseidon(left, right)``. The tree is sparse: only levels up to the highest used index are
stored (as packed 32-byte little-endian buffers, the native kernel's layout); any node beyond
them is the precomputed zero-subtree hash of its level.

* :meth:`MerkleTree.from_leaves` builds level by level (one native call per level, two threads);
* :meth:`MerkleTree.set` updates one leaf and its 20 ancestors;
* :meth:`MerkleTree.proof` gives the siblings the circuit takes.
"""

from __future__ import annotations

from collections.abc import Sequence
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
