"""Development-chain controls that only local nodes (Ganache, Hardhat, Anvil) answer.

Used by the demo and the tests to move time forward (close a resale window, end an event)
without waiting. Real networks refuse these methods; the functions raise ChainError there.
"""

from __future__ import annotations

from typing import Any

from web3 import Web3

from fairgate.errors import ChainError

__all__ = ["increase_time", "latest_timestamp", "mine"]


def _rpc(w3: Web3, method: str, params: list[Any]) -> Any:
    response = w3.provider.make_request(method, params)  # type: ignore[arg-type]
    if "error" in response:
        raise ChainError(f"{method} refused by the node: {response['error']}")
    return response.get("result")


def mine(w3: Web3, blocks: int = 1) -> None:
    """Mine ``blocks`` empty blocks."""
    for _ in range(blocks):
        _rpc(w3, "evm_mine", [])


def increase_time(w3: Web3, seconds: int) -> int:
    """Move the chain's clock forward and mine a block; returns the new block timestamp."""
    _rpc(w3, "evm_increaseTime", [int(seconds)])
    mine(w3)
    return latest_timestamp(w3)


def latest_timestamp(w3: Web3) -> int:
    return int(w3.eth.get_block("latest")["timestamp"])
