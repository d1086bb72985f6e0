"""brownie-config.yaml must compile and launch what chain.compiler and chain.ganache do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from chain.compiler import standard_json_settings
from chain.solc import solcjs_version
from fairgate.settings import Settings

CONFIG = Path(__file__).resolve().parents[2] / "brownie-config.yaml"


def _config() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(CONFIG.read_text())
    return data


def test_compiler_settings_match_ours() -> None:
    ours = standard_json_settings(Settings())
    compiler = _config()["compiler"]
    assert compiler["evm_version"] == ours["evmVersion"]
    assert compiler["solc"]["version"] == solcjs_version()
    assert compiler["solc"]["optimizer"] == ours["optimizer"]
    assert compiler["solc"]["remappings"] == ours["remappings"]
    assert not ours["viaIR"] and "viaIR" not in compiler["solc"]


def test_ganache_network_matches_our_chain() -> None:
    settings = Settings()
    networks = _config()["networks"]
    assert "default" not in networks  # brownie 1.22.2's loader crashes on it (see conftest)
    cmd = networks["ganache-cli"]["cmd_settings"]
    assert cmd["port"] != 8545
    assert cmd["evm_version"] == settings.ganache_hardfork
    assert cmd["chain_id"] == settings.chain_id
    assert cmd["mnemonic"] == settings.ganache_mnemonic
    assert cmd["gas_limit"] == settings.ganache_block_gas_limit
    assert networks["development"]["priority_fee"] == "1 gwei"
