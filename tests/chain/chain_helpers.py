"""Helpers of the chain-layer tests: private Ganache chains and raw RPC calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from web3 import Web3

from chain.ganache import GanacheRunner, free_port

FIXTURES = Path(__file__).parent / "fixtures"


def start_node(*extra_args: str, hardfork: str | None = None) -> GanacheRunner:
    """A Ganache of its own (tests that stop mining or revert snapshots must not share one)."""
    return GanacheRunner(free_port(), accounts=10, hardfork=hardfork, extra_args=extra_args).start()


def rpc(w3: Web3, method: str, *params: Any) -> Any:
    response = w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
    assert "error" not in response, response
    return response["result"]
