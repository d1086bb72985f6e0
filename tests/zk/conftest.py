"""Session fixtures of the zk tests: one cached ceremony, one warm prover, verifier and snarkjs.

The first run on a machine builds the ceremony (about 4 minutes, cached in
``~/.cache/fairgate/zk`` by content hash); later runs, fresh clones included, reuse it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from zk.identity import TicketSecret, gate_scope
from zk.setup import Artifacts
from zk.snarkjs_node import SnarkjsNode
from zk.tree import MerkleTree

EVENT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
OTHER_EVENT = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
CHAIN_ID = 1337


@pytest.fixture(scope="session")
def snarkjs() -> Iterator[SnarkjsNode]:
    with SnarkjsNode() as node:
        yield node


@pytest.fixture(scope="session")
def vkey(artifacts: Artifacts) -> dict[str, Any]:
    return artifacts.vkey_json()


@pytest.fixture(scope="session")
def scope() -> int:
    return gate_scope(CHAIN_ID, EVENT)


@pytest.fixture(scope="session")
def other_scope() -> int:
    return gate_scope(CHAIN_ID, OTHER_EVENT)


class Event:
    """A small event: secrets of a few tickets and its tree."""

    def __init__(self, n: int) -> None:
        self.secrets = [TicketSecret.generate() for _ in range(n)]
        self.tree = MerkleTree.from_leaves([s.commitment() for s in self.secrets])


@pytest.fixture()
def event() -> Event:
    return Event(6)
