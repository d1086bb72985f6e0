"""Fixtures of the chain-layer tests: a private chain per module and the Reverter contract.

The sender and event tests stop mining, mine empty blocks and revert snapshots, so each module
gets a Ganache of its own (``chain_node``/``node_w3``, module scope) instead of the session's
shared ``ganache``/``w3`` (tests/conftest.py); names differ so nothing shadows those.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from chain_helpers import FIXTURES, start_node
from web3 import Web3

from chain.ganache import GanacheRunner
from chain.keys import Signer, dev_signer
from fairgate.settings import Settings


@pytest.fixture(scope="module")
def chain_node() -> Iterator[GanacheRunner]:
    node = start_node()
    yield node
    node.stop()


@pytest.fixture(scope="module")
def node_w3(chain_node: GanacheRunner) -> Web3:
    return Web3(Web3.HTTPProvider(chain_node.url, request_kwargs={"timeout": 30}))


@pytest.fixture(scope="module")
def chain_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(home=tmp_path_factory.mktemp("home"), confirmations=0, receipt_timeout_s=30)


@pytest.fixture(scope="session")
def reverter_artifact() -> Any:
    from chain.compiler import compile_contracts

    return compile_contracts(FIXTURES / "reverter")["Reverter"]


@pytest.fixture(scope="module")
def reverter(node_w3: Web3, reverter_artifact: Any) -> Any:
    """The Reverter fixture contract, deployed by dev account 9 with plain web3."""
    deployer: Signer = dev_signer(9)
    w3 = node_w3
    factory = w3.eth.contract(abi=reverter_artifact.abi, bytecode=reverter_artifact.bytecode)
    tx = factory.constructor().build_transaction(
        {"from": deployer.address, "nonce": w3.eth.get_transaction_count(deployer.address)}
    )
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(deployer.sign_transaction(dict(tx)).raw_transaction)
    )
    return w3.eth.contract(address=receipt["contractAddress"], abi=reverter_artifact.abi)
