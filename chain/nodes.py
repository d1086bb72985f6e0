"""Which local node, and the few calls that differ between them.

The chain layer talks plain JSON-RPC to any URL. Only development controls differ between local
nodes, and they live here behind one small interface, :class:`DevNode`:

* ``snapshot()`` / ``revert(id)``: save and restore the whole chain (``evm_snapshot``/``evm_revert``
  on both nodes);
* ``increase_time(s)``: move the clock and mine a block; ``mine(n)``: mine ``n`` empty blocks;
* ``set_automine(on)``: stop or resume mining on each transaction (Ganache ``miner_stop``/
  ``miner_start``, Anvil ``evm_setAutomine``); ``set_block_time(s)``: mine every ``s`` seconds
  (Anvil ``evm_setIntervalMining``; Ganache takes its block time only at start);
* ``set_storage(address, slot, word)``: write a contract's storage (Ganache
  ``evm_setAccountStorageAt``, Anvil ``anvil_setStorageAt``);
* ``reorg(depth, transactions)``: a real reorganisation: the last ``depth`` blocks are replaced by
  as many new ones holding the given signed transactions (Anvil ``anvil_reorg``). Ganache has no
  such method: it raises :class:`ChainError` (emulate one there with snapshot, blocks, revert).

:func:`dev_node` picks the implementation from the node's ``web3_clientVersion``
(``Ganache/v7.9.2/...``, ``anvil/v1.7.1``); :func:`node_runner` starts either node by name, with
the same options (``settings.node`` by default, ``FAIRGATE_NODE``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, get_args

from web3 import Web3

from chain.anvil import AnvilRunner
from chain.ganache import GanacheRunner
from fairgate.errors import ChainError, ConfigError
from fairgate.settings import Settings, get_settings

__all__ = [
    "NODE_KINDS",
    "AnvilNode",
    "DevNode",
    "GanacheNode",
    "NodeKind",
    "dev_node",
    "node_kind",
    "node_runner",
]

NodeKind = Literal["ganache", "anvil"]
NODE_KINDS: tuple[NodeKind, ...] = get_args(NodeKind)


def node_runner(kind: str | None = None, port: int | None = None, **options: Any) -> GanacheRunner:
    """A runner (not started) of ``kind`` (default ``settings.node``); GanacheRunner's options."""
    settings: Settings = options.get("settings") or get_settings()
    name = settings.node if kind is None else kind.strip().lower()
    if name == "anvil":
        return AnvilRunner(port, **options)
    if name == "ganache":
        return GanacheRunner(port, **options)
    raise ConfigError(f"unknown node {kind!r}: choose one of {', '.join(NODE_KINDS)}")


def _rpc(w3: Web3, method: str, params: list[Any]) -> Any:
    response = w3.provider.make_request(method, params)  # type: ignore[arg-type]
    if "error" in response:
        raise ChainError(f"{method} refused by the node: {response['error']}")
    return response.get("result")


def node_kind(w3: Web3) -> NodeKind:
    """``ganache`` or ``anvil``, from ``web3_clientVersion``; ChainError for any other node."""
    version = str(_rpc(w3, "web3_clientVersion", []))
    lowered = version.lower()
    if lowered.startswith("anvil/"):
        return "anvil"
    if lowered.startswith("ganache/") or "testrpc" in lowered:
        return "ganache"
    raise ChainError(
        f"{version!r} is not a local development node (Ganache or Anvil): "
        "snapshots, time travel and mining control are not available there"
    )


class DevNode:
    """Development controls of one local node; the shared calls are the same JSON-RPC on both."""

    kind: NodeKind

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3

    def rpc(self, method: str, *params: Any) -> Any:
        """One raw JSON-RPC call; ChainError with the node's message if it refuses."""
        return _rpc(self.w3, method, list(params))

    def snapshot(self) -> str:
        """Save the chain; the id for :meth:`revert` (a snapshot is used up by its revert)."""
        return str(self.rpc("evm_snapshot"))

    def revert(self, snapshot_id: str) -> None:
        """Go back to a snapshot; ChainError if the node does not know it (any more)."""
        if self.rpc("evm_revert", snapshot_id) is not True:
            raise ChainError(f"the node has no snapshot {snapshot_id!r} (already reverted?)")

    def mine(self, blocks: int = 1) -> None:
        """Mine ``blocks`` empty blocks."""
        if blocks < 0:
            raise ValueError(f"blocks must be >= 0, not {blocks}")
        for _ in range(blocks):
            self.rpc("evm_mine")

    def increase_time(self, seconds: int) -> int:
        """Move the clock forward by ``seconds`` and mine a block; the new block's timestamp."""
        if seconds < 0:
            raise ValueError(f"time only moves forward: seconds must be >= 0, not {seconds}")
        self.rpc("evm_increaseTime", int(seconds))
        self.mine()
        return self.latest_timestamp()

    def latest_timestamp(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def set_automine(self, on: bool) -> None:
        raise NotImplementedError

    def set_block_time(self, seconds: float) -> None:
        """Mine a block every ``seconds`` from now on (0: stop interval mining)."""
        raise ChainError(f"{self.kind} cannot change its block time while running")

    def set_storage(self, address: str, slot: int, word: int) -> None:
        """Write one storage word of a contract (tests that set a counter out of reach)."""
        raise NotImplementedError

    def reorg(self, depth: int, transactions: Sequence[bytes] = ()) -> None:
        raise ChainError(f"{self.kind} cannot reorganise its chain (Anvil's anvil_reorg can)")


class GanacheNode(DevNode):
    kind: NodeKind = "ganache"

    def mine(self, blocks: int = 1) -> None:
        if blocks < 0:
            raise ValueError(f"blocks must be >= 0, not {blocks}")
        if blocks:
            self.rpc("evm_mine", {"blocks": blocks})

    def set_automine(self, on: bool) -> None:
        self.rpc("miner_start" if on else "miner_stop")

    def set_storage(self, address: str, slot: int, word: int) -> None:
        if self.rpc("evm_setAccountStorageAt", address, _word(slot), _word(word)) is not True:
            raise ChainError(f"Ganache did not write slot {slot} of {address}")


class AnvilNode(DevNode):
    kind: NodeKind = "anvil"

    def mine(self, blocks: int = 1) -> None:
        if blocks < 0:
            raise ValueError(f"blocks must be >= 0, not {blocks}")
        if blocks:
            self.rpc("anvil_mine", hex(blocks))

    def set_automine(self, on: bool) -> None:
        self.rpc("evm_setAutomine", bool(on))

    def set_storage(self, address: str, slot: int, word: int) -> None:
        if self.rpc("anvil_setStorageAt", address, _word(slot), _word(word)) is not True:
            raise ChainError(f"Anvil did not write slot {slot} of {address}")

    def set_block_time(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"seconds must be >= 0, not {seconds}")
        self.rpc("evm_setIntervalMining", seconds)

    def reorg(self, depth: int, transactions: Sequence[bytes] = ()) -> None:
        """Replace the last ``depth`` blocks by ``depth`` new ones; each signed transaction goes
        into the first new block (the transactions of the dropped blocks are gone)."""
        head = int(self.w3.eth.block_number)
        if not 0 < depth <= head:
            raise ValueError(f"reorg depth must be between 1 and the head ({head}), not {depth}")
        pairs = [["0x" + bytes(raw).hex(), 0] for raw in transactions]
        self.rpc("anvil_reorg", depth, pairs)


def _word(value: int) -> str:
    return "0x" + value.to_bytes(32, "big").hex()


def dev_node(w3: Web3) -> DevNode:
    """The development controls of the node behind ``w3`` (chosen by its client version)."""
    return AnvilNode(w3) if node_kind(w3) == "anvil" else GanacheNode(w3)
