"""Fixtures of the chain-layer tests: a private chain, as fresh in each module, and the Reverter.

The sender and event tests stop mining, mine empty blocks and revert snapshots, so they do not
use the session's shared ``ganache``/``w3`` (tests/conftest.py) but a private Ganache
(``chain_node``/``node_w3``; names differ so nothing shadows those). It is started once per
session; each module starts from the state the chain had when it was started (``evm_snapshot``
before the module, ``evm_revert`` after it, mining switched back on, and the process-wide nonce
counters of its accounts forgotten), which is what a chain of its own per module gave, without a
Ganache start-up per module.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from chain_helpers import FIXTURES, start_node
from web3 import Web3

from chain.ganache import GanacheRunner
from chain.keys import Signer, dev_signer
from chain.nodes import dev_node
from chain.sender import NonceManager
from fairgate.settings import Settings


@pytest.fixture(scope="session")
def private_node() -> Iterator[GanacheRunner]:
    node = start_node()
    yield node
    node.stop()


@pytest.fixture(scope="module")
def chain_node(private_node: GanacheRunner) -> Iterator[GanacheRunner]:
    """The private chain, in the state it started in; what the module does is reverted after it."""
    w3 = Web3(Web3.HTTPProvider(private_node.url, request_kwargs={"timeout": 30}))
    node = dev_node(w3)
    snapshot = node.snapshot()
    yield private_node
    node.set_automine(True)
    node.revert(snapshot)
    chain = (int(w3.eth.chain_id), "0x" + bytes(w3.eth.get_block(0)["hash"]).hex())
    for account in private_node.accounts_with_keys():
        NonceManager.reset(chain, account.address)  # nonces went back with the revert


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
