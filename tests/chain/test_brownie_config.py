"""brownie-config.yaml must compile and launch what chain.compiler and chain.ganache do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from chain.brownie_build import brownie_build_dir, session_evm_version
from chain.compiler import standard_json_settings
from chain.evm import EVM_VERSIONS
from chain.solc import solcjs_version
from fairgate.errors import ConfigError
from fairgate.settings import Settings

CONFIG = Path(__file__).resolve().parents[2] / "brownie-config.yaml"


def _config() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(CONFIG.read_text())
    return data


@pytest.mark.parametrize("evm", [None, *EVM_VERSIONS])
def test_compiler_settings_match_ours(evm: str | None) -> None:
    """Each build (FAIRGATE_EVM_VERSION, as brownie expands it; unset: shanghai)."""
    # imported here: brownie's test runner hashes the sources of module-level imports, and this
    # module is compiled (a .so it cannot read as text)
    from brownie._expansion import expand_posix_vars

    ours = standard_json_settings(Settings(), evm)
    env = {} if evm is None else {"FAIRGATE_EVM_VERSION": evm}
    compiler = expand_posix_vars(_config()["compiler"], env)
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


def test_brownie_compiles_the_build_of_the_session_node() -> None:
    """chain.brownie_build: the build of FAIRGATE_NODE's hardfork unless the setting names one,
    each build but the default in its own brownie folder."""
    assert session_evm_version(Settings(node="ganache")) == "shanghai"
    assert session_evm_version(Settings(node="anvil")) == "cancun"
    assert session_evm_version(Settings(node="anvil", evm_version="shanghai")) == "shanghai"
    with pytest.raises(ConfigError, match="FAIRGATE_EVM_VERSION=cancun"):
        session_evm_version(Settings(node="ganache", evm_version="cancun"))
    assert brownie_build_dir("shanghai") == "build"
    assert brownie_build_dir("cancun") == "build/brownie-cancun"
