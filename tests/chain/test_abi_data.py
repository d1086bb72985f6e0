"""chain.abi: the set-up's package data (ABIs and code of contracts/) is fresh, equal to a compile,
refused when stale, and loaded by every process without the compiler."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chain import abi
from chain.abi import ABI_DIR, check_fresh, packaged_names, source_hashes, stale_sources
from chain.compiler import compile_contracts
from fairgate.errors import ToolchainError
from fairgate.settings import PROJECT_ROOT, get_settings


def test_the_package_data_is_fresh_against_contracts() -> None:
    """Fails when a contract changed and the set-up (make abi) was not run since."""
    assert stale_sources() == [], "chain/abi is stale: run make abi"
    assert {"TicketEvent", "TicketFactory", "TicketGate"} <= set(packaged_names())


def test_the_package_data_is_what_the_compiler_makes() -> None:
    build = compile_contracts(get_settings().contracts_dir)  # a hit of the set-up's cache
    for name in packaged_names():
        packaged, compiled = abi.artifact(name), build[name]
        assert packaged.abi == compiled.abi, name
        assert packaged.bytecode == compiled.bytecode, name
        assert packaged.deployed_bytecode == compiled.deployed_bytecode, name
    own = {a.name for a in build if a.source in build.sources}
    assert set(packaged_names()) == own


def _copy(tmp_path: Path) -> tuple[Path, Path]:
    contracts = tmp_path / "contracts"
    shutil.copytree(get_settings().contracts_dir, contracts)
    data = tmp_path / "abi"
    shutil.copytree(ABI_DIR, data)
    return contracts, data


def test_a_changed_source_makes_the_package_data_stale(tmp_path: Path) -> None:
    contracts, data = _copy(tmp_path)
    check_fresh(data, contracts)  # the copy is as fresh as the original
    source = contracts / "TicketEvent.sol"
    source.write_text(source.read_text() + "\n// edited\n")
    (contracts / "New.sol").write_text("// SPDX-License-Identifier: MIT\n")
    assert stale_sources(data, contracts) == ["contracts/New.sol", "contracts/TicketEvent.sol"]
    with pytest.raises(ToolchainError, match=r"stale against contracts/New.sol.*make abi"):
        check_fresh(data, contracts)


def test_missing_or_damaged_package_data_says_how_to_make_it(tmp_path: Path) -> None:
    contracts, data = _copy(tmp_path)
    (data / "TicketEvent.json").write_text("{not json")
    with pytest.raises(ToolchainError, match=r"damaged.*make abi"):
        abi.artifact("TicketEvent", data)
    with pytest.raises(ToolchainError, match=r"no contract named 'Nope'"):
        abi.artifact("Nope", data)
    with pytest.raises(ToolchainError, match=r"no contract ABIs in .*make abi"):
        check_fresh(tmp_path / "nowhere", contracts)


def test_the_manifest_hashes_the_sources_it_was_written_from() -> None:
    manifest = json.loads((ABI_DIR / "manifest.json").read_text())
    assert manifest["sources"] == source_hashes(get_settings().contracts_dir)
    assert manifest["contracts"] == packaged_names()


@pytest.mark.slow  # one interpreter importing the bridge, the CLI and the gate: 6-60 s here
def test_processes_load_the_package_data_without_the_compiler() -> None:
    """The bridge, the CLI and the gate start, build clients and decode reverts with neither
    py-solc-x nor chain.compiler imported (so no Node and no solc are needed once set up)."""
    code = """
import sys
from web3 import Web3
import api.app, cli.main, gate.app
from chain.ticket_event import TicketEventClient
from chain.factory import TicketFactoryClient
from chain.errors import SoldOut, error_class
client = TicketEventClient(Web3(), "0x" + "11" * 20)
TicketFactoryClient(Web3(), "0x" + "22" * 20)
assert client.artifact.abi and SoldOut is error_class("SoldOut")
loaded = sorted(m for m in ("solcx", "chain.compiler", "chain.solc") if m in sys.modules)
print(",".join(loaded) or "none")
"""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "none"
