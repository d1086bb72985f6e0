"""``fairgate dev up --node anvil`` (and ``FAIRGATE_NODE=anvil``): the stack's chain is Anvil, the
platform is deployed on it, and ``dev down``/``dev up`` brings the same chain back (Anvil's state
file in ``<home>/dev/chain-db``). The bridge is left out (``--no-bridge``): it is node-agnostic and
runs on Ganache in test_dev_stack_card.py; the demo runs the whole story with ``--node anvil``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from web3 import Web3

from tests.cli.conftest import Cli, base_env

# `fairgate dev up` starts its own Anvil (a grandchild process: the lane guard cannot see it)
pytestmark = [pytest.mark.slow, pytest.mark.ganache]


def _chain(home: Path) -> tuple[Web3, str, str]:
    state = json.loads((home / "dev-stack.json").read_text())
    assert state["components"]["chain"]["node"] == "anvil"
    w3 = Web3(Web3.HTTPProvider(state["components"]["chain"]["url"]))
    return w3, str(state["factory"]), str(state["stablecoin"])


def test_dev_up_on_anvil_keeps_its_chain_across_down_and_up(tmp_path: Path) -> None:
    cli = Cli(base_env(tmp_path, "http://127.0.0.1:9"), tmp_path)
    up = cli("dev", "up", "--node", "anvil", "--no-bridge", timeout=300)
    assert "factory" in up.output and "node anvil" in up.output
    assert "test stablecoin FUSD" in up.output
    try:
        w3, factory, coin = _chain(tmp_path)
        assert w3.client_version.startswith("anvil/")
        assert int(w3.eth.chain_id) == 1337
        assert len(w3.eth.get_code(Web3.to_checksum_address(factory))) > 0
        genesis = bytes(w3.eth.get_block(0)["hash"])
        # the faucet mints the test stablecoin with its 6 decimals
        url = {"FAIRGATE_RPC_URL": str(w3.provider.endpoint_uri)}  # type: ignore[attr-defined]
        minted = cli("dev", "faucet", "dev:5", "--amount", "12.5", env=url)
        assert "minted 12.5 FUSD" in minted.stdout and "balance 12.5 FUSD" in minted.stdout
        bad = cli("dev", "faucet", "dev:5", "--amount", "0.0000001", env=url, ok=False)
        assert "at most 6 decimals" in bad.stderr
    finally:
        cli("dev", "down")
    assert (tmp_path / "dev" / "chain-db" / "anvil-state.json").is_file()

    cli.env["FAIRGATE_NODE"] = "anvil"  # the setting instead of the option
    again = cli("dev", "up", "--no-bridge", timeout=300)
    try:
        assert "a new chain" not in again.output
        w3, factory_again, coin_again = _chain(tmp_path)
        assert (factory_again, coin_again) == (factory, coin)
        assert bytes(w3.eth.get_block(0)["hash"]) == genesis
        assert len(w3.eth.get_code(Web3.to_checksum_address(factory))) > 0
    finally:
        cli("dev", "down")
