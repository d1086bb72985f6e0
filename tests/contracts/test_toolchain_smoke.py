"""Brownie end to end: its compile of contracts/ (through tools/solc) deploys and runs on the node
(Ganache, or Anvil with ``FAIRGATE_NODE=anvil``).

Uses brownie's fixtures (``accounts``, ``ToolchainSmoke``, ``fn_isolation``); the same pytest
run also runs plain tests (tests/test_fixtures.py, tests/chain/...).
"""

from __future__ import annotations

from typing import Any

import brownie
import pytest

from fairgate.settings import get_settings


@pytest.fixture(autouse=True)
def isolation(fn_isolation: Any) -> None:
    """Each test starts from the same chain state (brownie snapshots and reverts)."""


def test_deploy_store_and_custom_error(ToolchainSmoke: Any, accounts: Any) -> None:
    smoke = ToolchainSmoke.deploy({"from": accounts[0]})
    tx = smoke.store(42, {"from": accounts[1]})
    assert smoke.value() == 42
    assert tx.events["Stored"]["by"] == accounts[1]
    with brownie.reverts():
        smoke.store(2_000_000, {"from": accounts[1]})
    assert smoke.value() == 42


def test_network_is_our_node(chain: Any, web3: Any) -> None:
    """brownie's chain is the node FAIRGATE_NODE names (make test runs this suite on Anvil)."""
    assert brownie.network.show_active() == "ganache-cli"
    assert chain.id == 1337
    assert web3.client_version.lower().startswith(get_settings().node + "/")
    assert web3.eth.get_block("latest")["gasLimit"] == 60_000_000


def test_isolation_reverted_the_previous_test(ToolchainSmoke: Any) -> None:
    assert len(ToolchainSmoke) == 0
