"""Fixtures of the chain-layer tests: a Ganache of their own and the Reverter fixture contract.

Each test module that changes mining (miner_stop, snapshots) gets a fresh chain through
``node`` (module scope), so tests cannot disturb each other's nonces and blocks.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chain_helpers import LocalGanache
from web3 import Web3

from chain.keys import Signer, dev_signer
from fairgate.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def node() -> Iterator[LocalGanache]:
    g = LocalGanache()
    yield g
    g.stop()


@pytest.fixture(scope="module")
def w3(node: LocalGanache) -> Web3:
    return Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 30}))


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(home=tmp_path_factory.mktemp("home"), confirmations=0, receipt_timeout_s=30)


@pytest.fixture(scope="session")
def reverter_artifact() -> Any:
    from chain.compiler import compile_contracts

    return compile_contracts(FIXTURES / "reverter")["Reverter"]


@pytest.fixture(scope="module")
def deployer() -> Signer:
    return dev_signer(9)


@pytest.fixture(scope="module")
def reverter(w3: Web3, reverter_artifact: Any, deployer: Signer) -> Any:
    """The Reverter fixture contract, deployed by dev account 9 (plain web3, not our sender)."""
    factory = w3.eth.contract(abi=reverter_artifact.abi, bytecode=reverter_artifact.bytecode)
    tx = factory.constructor().build_transaction(
        {"from": deployer.address, "nonce": w3.eth.get_transaction_count(deployer.address)}
    )
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(deployer.sign_transaction(dict(tx)).raw_transaction)
    )
    return w3.eth.contract(address=receipt["contractAddress"], abi=reverter_artifact.abi)
