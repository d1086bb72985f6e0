"""chain.anvil and chain.nodes: either local node starts alike and answers the same dev calls.

Each node is started once for the module (Anvil in well under a second, Ganache in 1.5-3 s); the
tests that change mining or the clock run on these private nodes, never on the session's chain.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from chain.anvil import AnvilRunner
from chain.ganache import GanacheRunner, free_port
from chain.nodes import NODE_KINDS, DevNode, dev_node, node_runner
from fairgate.errors import ChainError, ConfigError, ToolchainError
from fairgate.settings import Settings, get_settings, settings_from_env
from tests.lanes import uses

GAS_PRICE = 2 * 10**9


@pytest.fixture(scope="module", params=NODE_KINDS)
@uses("ganache")
def dev_chain(request: pytest.FixtureRequest) -> Iterator[GanacheRunner]:
    runner = node_runner(request.param, free_port(), accounts=3)
    with runner:
        yield runner


@pytest.fixture(scope="module")
def chain_w3(dev_chain: GanacheRunner) -> Web3:
    return Web3(Web3.HTTPProvider(dev_chain.url, request_kwargs={"timeout": 30}))


@pytest.fixture(scope="module")
def control(chain_w3: Web3) -> DevNode:
    return dev_node(chain_w3)


def _transfer(w3: Web3, sender: LocalAccount, to: str, value: int) -> bytes:
    """A signed plain transfer (raw bytes), legacy gas price so both nodes take it."""
    tx = {
        "to": to,
        "value": value,
        "gas": 21_000,
        "gasPrice": GAS_PRICE,
        "nonce": w3.eth.get_transaction_count(sender.address, "pending"),
        "chainId": int(w3.eth.chain_id),
    }
    return bytes(sender.sign_transaction(tx).raw_transaction)


def test_runner_answers_with_the_dev_accounts_chain_id_and_gas_limit(
    dev_chain: GanacheRunner, chain_w3: Web3
) -> None:
    assert dev_chain.running
    assert int(chain_w3.eth.chain_id) == 1337
    assert int(chain_w3.eth.get_block("latest")["gasLimit"]) == 60_000_000
    keys = dev_chain.accounts_with_keys()
    assert [a.address for a in keys] == chain_w3.eth.accounts[:3]
    assert chain_w3.eth.get_balance(keys[0].address) > 0


def test_dev_node_is_chosen_by_the_client_version(
    dev_chain: GanacheRunner, control: DevNode
) -> None:
    assert control.kind == ("anvil" if isinstance(dev_chain, AnvilRunner) else "ganache")


def test_snapshot_revert_mine_and_time(
    chain_w3: Web3, dev_chain: GanacheRunner, control: DevNode
) -> None:
    alice, bob = dev_chain.accounts_with_keys()[:2]
    before = chain_w3.eth.get_balance(bob.address)
    snapshot = control.snapshot()
    sent = chain_w3.eth.send_raw_transaction(_transfer(chain_w3, alice, bob.address, 12345))
    chain_w3.eth.wait_for_transaction_receipt(sent, timeout=30)  # Anvil mines it asynchronously
    assert chain_w3.eth.get_balance(bob.address) == before + 12345
    control.revert(snapshot)
    assert chain_w3.eth.get_balance(bob.address) == before
    with pytest.raises(ChainError, match="no snapshot"):
        control.revert(snapshot)  # used up by its revert

    head = int(chain_w3.eth.block_number)
    control.mine(3)
    assert int(chain_w3.eth.block_number) == head + 3

    start = control.latest_timestamp()
    assert control.increase_time(3600) >= start + 3600
    with pytest.raises(ValueError, match="forward"):
        control.increase_time(-1)


def test_automine_off_holds_transactions_until_a_block_is_mined(
    chain_w3: Web3, dev_chain: GanacheRunner, control: DevNode
) -> None:
    alice, bob = dev_chain.accounts_with_keys()[:2]
    control.set_automine(False)
    try:
        tx_hash = chain_w3.eth.send_raw_transaction(_transfer(chain_w3, alice, bob.address, 1))
        head = int(chain_w3.eth.block_number)
        assert int(chain_w3.eth.block_number) == head
        control.mine()
        receipt = chain_w3.eth.wait_for_transaction_receipt(tx_hash, timeout=10)
        assert receipt["status"] == 1
    finally:
        control.set_automine(True)


def test_reorg_replaces_blocks_on_anvil_and_is_refused_on_ganache(
    chain_w3: Web3, dev_chain: GanacheRunner, control: DevNode
) -> None:
    alice, bob, carol = dev_chain.accounts_with_keys()[:3]
    if control.kind == "ganache":
        with pytest.raises(ChainError, match="cannot reorganise"):
            control.reorg(1)
        return
    old_hash = chain_w3.eth.send_raw_transaction(_transfer(chain_w3, alice, bob.address, 7))
    old_block = chain_w3.eth.wait_for_transaction_receipt(old_hash, timeout=10)["blockNumber"]
    old_block_hash = chain_w3.eth.get_block(old_block)["hash"]
    replacement = _transfer(chain_w3, carol, bob.address, 9)
    control.reorg(1, [replacement])
    # same height, another block: alice's transfer is gone, carol's is in
    assert chain_w3.eth.get_block(old_block)["hash"] != old_block_hash
    new_hash = Web3.keccak(replacement)
    assert chain_w3.eth.get_transaction_receipt(new_hash)["status"] == 1
    with pytest.raises(Exception, match="not found"):
        chain_w3.eth.get_transaction_receipt(old_hash)
    with pytest.raises(ValueError, match="depth"):
        control.reorg(0)


def test_unknown_node_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown node 'geth'"):
        node_runner("geth")
    with pytest.raises(ConfigError, match="FAIRGATE_NODE"):
        settings_from_env({"FAIRGATE_NODE": "geth"})
    assert settings_from_env({"FAIRGATE_NODE": "anvil"}).node == "anvil"


def test_anvil_missing_or_not_executable_is_a_toolchain_error(tmp_path: Path) -> None:
    settings = Settings(node_modules=tmp_path)
    with pytest.raises(ToolchainError, match="anvil is not installed"):
        AnvilRunner(free_port(), settings=settings).command()
    binary = tmp_path / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
    binary.parent.mkdir(parents=True)
    binary.write_bytes(b"")
    os.chmod(binary, stat.S_IRUSR | stat.S_IWUSR)
    with pytest.raises(ToolchainError, match="not executable"):
        AnvilRunner(free_port(), settings=settings).command()


def test_settings_default_node_is_ganache() -> None:
    assert get_settings().node in NODE_KINDS
