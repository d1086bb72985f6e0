"""The shared fixtures of tests/conftest.py (tested here: tests/chain overrides ``w3``)."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount
from web3 import Web3

from chain.ganache import GanacheRunner
from fairgate.settings import get_settings


def test_session_chain(ganache: GanacheRunner, w3: Web3, dev_accounts: list[LocalAccount]) -> None:
    settings = get_settings()
    assert ganache.running and ganache.port != 8545
    assert w3.eth.chain_id == settings.chain_id == 1337
    assert w3.eth.accounts == [a.address for a in dev_accounts]
    assert len(dev_accounts) == settings.ganache_accounts
    # at genesis: other tests share this chain and spend from these accounts
    funded = settings.ganache_balance_eth * 10**18
    assert w3.eth.get_balance(dev_accounts[0].address, block_identifier=0) == funded
    assert w3.eth.get_block("latest")["gasLimit"] == settings.ganache_block_gas_limit


def test_dev_account_signs_a_transfer(w3: Web3, dev_accounts: list[LocalAccount]) -> None:
    sender, receiver = dev_accounts[-1], dev_accounts[-2]
    before = w3.eth.get_balance(receiver.address)
    tx = {
        "to": receiver.address,
        "value": 10**15,
        "gas": 21_000,
        "maxFeePerGas": 2 * 10**9 + w3.eth.get_block("latest")["baseFeePerGas"],
        "maxPriorityFeePerGas": 10**9,
        "nonce": w3.eth.get_transaction_count(sender.address),
        "chainId": w3.eth.chain_id,
    }
    tx_hash = w3.eth.send_raw_transaction(sender.sign_transaction(tx).raw_transaction)
    assert w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)["status"] == 1
    assert w3.eth.get_balance(receiver.address) == before + 10**15


def test_the_session_chain_is_the_node_the_run_names(w3: Web3) -> None:
    """``FAIRGATE_NODE`` picks the session's chain (``make test`` runs a leg on each node)."""
    expected = "anvil/" if get_settings().node == "anvil" else "ganache/"
    assert w3.client_version.lower().startswith(expected)


def test_make_test_runs_every_suite_on_anvil_and_the_both_nodes_suites_on_ganache() -> None:
    """A suite renamed or moved must not silently drop out of the Ganache leg of ``make test``,
    and the Anvil leg names no path (it runs every suite, testpaths of pyproject.toml, but the
    Ganache-only gas snapshot)."""
    import re
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    makefile = (root / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    found = re.search(r"^BOTH_NODES \?=(.*)$", makefile, re.MULTILINE)
    assert found is not None, "BOTH_NODES is not in the Makefile"
    names = found.group(1).split()
    assert "tests/chain" in names and "tests/cli/test_story.py" in names
    missing = [n for n in names if not (root / n).exists()]
    assert not missing, f"the Makefile names suites that do not exist: {missing}"
    dry = subprocess.run(
        ["make", "-n", "test", "JUNIT=reports/x"], cwd=root, capture_output=True, text=True
    ).stdout.replace("\\\n", " ")
    (ganache,) = [line for line in dry.splitlines() if "FAIRGATE_NODE=ganache" in line]
    (anvil,) = [line for line in dry.splitlines() if "FAIRGATE_NODE=anvil" in line]
    ganache_run = ganache.split("FAIRGATE_NODE=ganache", 1)[1].split("&")[0].split()
    anvil_run = anvil.split("FAIRGATE_NODE=anvil", 1)[1].split("||")[0].split()
    assert all(n in ganache_run for n in names), ganache
    assert "tests/gas" in ganache_run and "--ignore=tests/gas" in anvil_run  # GANACHE_ONLY
    assert "--junitxml=reports/x-ganache.xml" in ganache_run
    assert "--junitxml=reports/x-anvil.xml" in anvil_run
    paths = [word for word in anvil_run if word.startswith("tests")]
    assert not paths, f"the Anvil leg must run every suite (but GANACHE_ONLY), not {paths}"
