"""Helpers of the chain-layer tests: private chains (Ganache, or Anvil with ``FAIRGATE_NODE=anvil``)
and raw RPC calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from web3 import Web3

from chain.anvil import AnvilRunner
from chain.ganache import GanacheRunner, free_port
from fairgate.settings import get_settings

FIXTURES = Path(__file__).parent / "fixtures"


def node_is(kind: str) -> bool:
    """Whether this run's chains are ``kind`` (``FAIRGATE_NODE``, default ganache)."""
    return get_settings().node == kind


def start_node(*, hardfork: str | None = None, block_time_s: float = 0) -> GanacheRunner:
    """A chain of its own, of this run's node (tests that stop mining or revert snapshots must
    not share one); ``block_time_s`` > 0 mines at that interval instead of per transaction."""
    if node_is("anvil"):
        return AnvilRunner(
            free_port(), accounts=10, hardfork=hardfork, block_time_s=block_time_s
        ).start()
    extra = ("--miner.blockTime", f"{block_time_s:g}") if block_time_s else ()
    return GanacheRunner(free_port(), accounts=10, hardfork=hardfork, extra_args=extra).start()


def rpc(w3: Web3, method: str, *params: Any) -> Any:
    response = w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
    assert "error" not in response, response
    return response["result"]
