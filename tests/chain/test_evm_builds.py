"""One source, two builds (chain.evm, issue 13): shanghai for Ganache, cancun for Anvil.

The cancun build keeps the reentrancy lock in transient storage and copies memory with MCOPY, the
shanghai build has none of the three opcodes (Ganache would refuse them); both share one ABI; the
deployer picks the build from the node and refuses cancun where the node cannot run it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from web3 import Web3

from chain import abi
from chain.anvil import AnvilRunner
from chain.compiler import compile_builds, compile_contracts, load_artifact
from chain.deploy import deploy_platform
from chain.evm import (
    EVM_VERSIONS,
    PROBE_CODE,
    build_for_hardfork,
    cancun_opcodes,
    deploy_evm_version,
    node_evm_version,
    resolve_evm_version,
)
from chain.ganache import GanacheRunner, free_port
from chain.ganache import dev_accounts as derive_dev_accounts
from chain.keys import Signer
from chain.nodes import node_kind
from chain.sender import TransactionSender
from fairgate.errors import ConfigError
from fairgate.settings import Settings, get_settings

PLATFORM = ("TicketEvent", "TicketEventAdmin", "TicketGate", "TicketFactory")
GUARDED = ("TicketEvent", "TicketEventAdmin")  # the code that holds _enter/_exit


def _code(name: str, evm: str) -> str:
    return load_artifact(name, evm_version=evm).deployed_bytecode


def test_build_names_follow_the_hardforks() -> None:
    assert EVM_VERSIONS == ("shanghai", "cancun")
    assert build_for_hardfork("shanghai") == "shanghai"
    assert build_for_hardfork("cancun") == build_for_hardfork("Prague") == "cancun"
    with pytest.raises(ValueError, match="no build runs on london"):
        build_for_hardfork("london")
    with pytest.raises(ValueError, match="unknown hardfork"):
        build_for_hardfork("byzantium-ish")


def test_cancun_is_refused_where_the_node_stops_at_shanghai() -> None:
    assert resolve_evm_version("auto", "shanghai") == "shanghai"
    assert resolve_evm_version("auto", "cancun") == "cancun"
    assert resolve_evm_version("shanghai", "cancun") == "shanghai"  # runs on newer nodes too
    with pytest.raises(ConfigError, match=r"EVM_VERSION=cancun.*nothing newer than shanghai"):
        resolve_evm_version("cancun", "shanghai")
    with pytest.raises(ConfigError, match="choose auto or one of shanghai, cancun"):
        resolve_evm_version("prague", "cancun")


@pytest.mark.parametrize("name", GUARDED)
def test_the_cancun_lock_is_transient_storage(name: str) -> None:
    """The cancun build's lock is TLOAD/TSTORE; the shanghai build has no cancun opcode at all."""
    cancun = cancun_opcodes(_code(name, "cancun"))
    assert cancun["TLOAD"] >= 1 and cancun["TSTORE"] >= 2, cancun  # locked?, lock, unlock
    assert cancun_opcodes(_code(name, "shanghai")) == {"TLOAD": 0, "TSTORE": 0, "MCOPY": 0}


def test_the_cancun_build_copies_memory_with_mcopy() -> None:
    """The optimizer's memory copies (strings, abi encoding of memory arrays) use MCOPY."""
    total = sum(cancun_opcodes(_code(name, "cancun"))["MCOPY"] for name in PLATFORM)
    assert total >= 1
    for name in PLATFORM:
        assert cancun_opcodes(_code(name, "shanghai"))["MCOPY"] == 0, name


def test_the_opcode_walk_skips_push_data_and_metadata() -> None:
    # PUSH2 0x5c5d, TSTORE, then metadata-looking bytes: a CBOR map of 3 bytes + its length
    code = "0x615c5d5d" + "a1" + "5e5e" + "0003"
    assert cancun_opcodes(code) == {"TLOAD": 0, "TSTORE": 1, "MCOPY": 0}
    assert cancun_opcodes(PROBE_CODE) == {"TLOAD": 1, "TSTORE": 1, "MCOPY": 1}


def test_every_build_has_one_abi() -> None:
    builds = compile_builds()  # cache hits after the set-up
    assert list(builds) == list(EVM_VERSIONS)
    shanghai, cancun = builds["shanghai"], builds["cancun"]
    for name in PLATFORM:
        assert shanghai[name].abi == cancun[name].abi, name
        assert shanghai[name].deployed_bytecode != cancun[name].deployed_bytecode, name
    assert shanghai.key != cancun.key and shanghai.directory != cancun.directory


def test_the_package_data_carries_every_build() -> None:
    """chain/abi: one ABI per contract, the code of each build."""
    assert abi.evm_versions() == list(EVM_VERSIONS)
    for name in PLATFORM:
        default = abi.artifact(name)
        for evm in EVM_VERSIONS:
            packaged = abi.artifact(name, evm_version=evm)
            compiled = load_artifact(name, evm_version=evm)
            assert packaged.abi == default.abi == compiled.abi
            assert packaged.deployed_bytecode == compiled.deployed_bytecode
        assert abi.artifact(name, evm_version="shanghai") == default


def test_a_lock_is_a_dependency_of_its_build_and_of_the_package_data(tmp_path: Path) -> None:
    """The locks are compiled only through the remapping, yet a changed lock recompiles its build
    (the manifest's dependency hashes are checked on every cache hit) and makes the package data
    stale."""
    settings = get_settings()
    contracts = tmp_path / "contracts"
    shutil.copytree(settings.contracts_dir, contracts)
    before = abi.source_hashes(contracts)
    assert "contracts/_hardfork/cancun/ReentrancyLock.sol" in before
    lock = contracts / "_hardfork" / "cancun" / "ReentrancyLock.sol"
    lock.write_text(lock.read_text() + "\n// edited\n")
    after = abi.source_hashes(contracts)
    assert [u for u in after if after[u] != before[u]] == [
        "contracts/_hardfork/cancun/ReentrancyLock.sol"
    ]
    build = compile_contracts(evm_version="cancun")
    manifest = json.loads((build.directory / "manifest.json").read_text())
    assert "contracts/_hardfork/cancun/ReentrancyLock.sol" in manifest["dependencies"]
    assert "contracts/_hardfork/cancun/ReentrancyLock.sol" not in build.sources


def test_the_deployer_picks_the_newest_build_the_node_runs(
    w3: Web3, dev_accounts: list, tmp_path: Path
) -> None:
    """On the session's node (Ganache, or Anvil in make test's Anvil leg): auto deploys the
    build the node's kind runs, and the code on chain is that build's."""
    expected = "cancun" if node_kind(w3) == "anvil" else "shanghai"
    assert node_evm_version(w3) == expected
    settings = Settings(env="test", home=tmp_path)
    assert deploy_evm_version(w3, settings) == expected
    sender = TransactionSender(w3, Signer.from_account(dev_accounts[0], "dev0"), settings=settings)
    deployment = deploy_platform(sender, settings)
    assert deployment.evm_version == expected
    code = w3.eth.get_code(Web3.to_checksum_address(deployment.implementation))
    on_chain = cancun_opcodes(bytes(code))
    assert (on_chain["TSTORE"] > 0) == (expected == "cancun"), on_chain


@pytest.fixture(scope="module")
def real_ganache(w3: Web3) -> Iterator[Web3]:
    """A Ganache: the session's, or one of this module's in the Anvil leg."""
    if node_kind(w3) == "ganache":
        yield w3
        return
    with GanacheRunner(free_port()) as node:
        yield Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 30}))


def test_deploying_cancun_to_ganache_is_refused_before_sending(
    real_ganache: Web3, tmp_path: Path
) -> None:
    w3 = real_ganache
    assert node_evm_version(w3) == "shanghai"
    settings = Settings(env="test", home=tmp_path, evm_version="cancun")
    with pytest.raises(ConfigError, match=r"FAIRGATE_EVM_VERSION=cancun.*Ganache 7.9.2 stops"):
        deploy_evm_version(w3, settings)
    signer = Signer.from_account(derive_dev_accounts(1)[0], "dev0")
    nonce = w3.eth.get_transaction_count(signer.address)
    block = w3.eth.block_number
    with pytest.raises(ConfigError, match="FAIRGATE_EVM_VERSION=cancun"):
        deploy_platform(TransactionSender(w3, signer, settings=settings), settings)
    assert w3.eth.get_transaction_count(signer.address) == nonce  # nothing was sent
    assert w3.eth.block_number == block


@pytest.mark.ganache  # starts an Anvil of its own
def test_the_probe_reads_the_hardfork_not_the_node_kind() -> None:
    """An Anvil held at shanghai gets the shanghai build: the probe executes cancun code, it does
    not guess from the client's name (so a public chain is judged the same way)."""
    with AnvilRunner(free_port(), hardfork="shanghai") as node:
        w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 30}))
        assert node_kind(w3) == "anvil"
        assert node_evm_version(w3) == "shanghai"
        assert deploy_evm_version(w3, Settings(evm_version="auto")) == "shanghai"
        with pytest.raises(ConfigError, match="nothing newer than shanghai"):
            deploy_evm_version(w3, Settings(evm_version="cancun"))
