"""chain.compiler: one compile per distinct set of sources; errors carry the compiler's message.

A real compile costs about 1 s (solcjs), so one build is made per module and copied into each
test; tests that only need to see *whether* a recompile happens replace the compiler with a stub.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_utils import keccak

import chain.compiler as compiler
from chain.compiler import compile_contracts, load_artifact, standard_json_settings
from fairgate.errors import ToolchainError
from fairgate.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"

TINY = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;
contract Tiny {
    error Nope(uint256 code);
    uint256 public value = VALUE;
    function fail() external pure { revert Nope(7); }
}
"""


@dataclass
class Workspace:
    src: Path
    settings: Settings


class Recompiled(Exception):
    """Raised by the stub compiler: the cache was not used."""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("built")
    (root / "src").mkdir()
    (root / "src" / "Tiny.sol").write_text(TINY.replace("VALUE", "1"))
    settings = Settings(build_dir=root / "build")
    compile_contracts(root / "src", settings=settings)
    return Workspace(root / "src", settings)


@pytest.fixture
def ws(built: Workspace, tmp_path: Path) -> Workspace:
    """A private copy of the module's sources and their warm cache."""
    shutil.copytree(built.src, tmp_path / "src")
    shutil.copytree(built.settings.build_dir, tmp_path / "build")
    return Workspace(tmp_path / "src", Settings(build_dir=tmp_path / "build"))


@pytest.fixture
def solc_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts real compiler runs."""
    runs: list[int] = []
    real = compiler._run_solc

    def counting(*args: Any, **kwargs: Any) -> Any:
        runs.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(compiler, "_run_solc", counting)
    return runs


@pytest.fixture
def no_solc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def stub(*args: Any, **kwargs: Any) -> Any:
        raise Recompiled

    monkeypatch.setattr(compiler, "_run_solc", stub)
    yield


def test_second_compile_hits_the_cache(ws: Workspace, no_solc: None) -> None:
    build = compile_contracts(ws.src, settings=ws.settings)
    assert build.directory.parent == ws.settings.build_dir / "solc"
    tiny = build["Tiny"]
    assert tiny == build["src/Tiny.sol:Tiny"] == load_artifact("Tiny", ws.src, settings=ws.settings)
    assert tiny.deployable and tiny.bytecode.startswith("0x60")
    assert tiny.deployed_bytecode.startswith("0x") and len(tiny.deployed_bytecode) > 2
    assert [e["name"] for e in tiny.errors] == ["Nope"]
    assert list(tiny.error_selectors) == ["0x" + keccak(text="Nope(uint256)")[:4].hex()]
    assert "fail()" in tiny.method_identifiers


def test_changed_source_recompiles(
    ws: Workspace, solc_runs: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    first = compile_contracts(ws.src, settings=ws.settings)
    unused_local = "function warn() external pure { uint256 unused; }\n}"
    changed = TINY.replace("VALUE", "2")
    (ws.src / "Tiny.sol").write_text(changed[: changed.rindex("}")] + unused_local)
    with caplog.at_level(logging.INFO, logger="chain.compiler"):
        second = compile_contracts(ws.src, settings=ws.settings)
    assert len(solc_runs) == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("Unused local variable" in w and "src/Tiny.sol" in w for w in warnings)
    assert any("compiled 1 sources" in r.getMessage() for r in caplog.records)
    assert second.key != first.key
    assert second["Tiny"].bytecode != first["Tiny"].bytecode
    assert first.directory.is_dir()  # the earlier build stays (a checkout may come back to it)


def test_new_source_file_recompiles(ws: Workspace, no_solc: None) -> None:
    (ws.src / "Other.sol").write_text(TINY.replace("Tiny", "Other").replace("VALUE", "3"))
    with pytest.raises(Recompiled):
        compile_contracts(ws.src, settings=ws.settings)


def test_changed_settings_change_the_key(ws: Workspace, no_solc: None) -> None:
    other = ws.settings.model_copy(update={"solc_optimizer_runs": 200})
    assert standard_json_settings(other)["optimizer"]["runs"] == 200
    with pytest.raises(Recompiled):
        compile_contracts(ws.src, settings=other)


def test_changed_dependency_recompiles(ws: Workspace, no_solc: None) -> None:
    build = compile_contracts(ws.src, settings=ws.settings)
    manifest_path = build.directory / compiler.MANIFEST
    manifest = json.loads(manifest_path.read_text())
    manifest["dependencies"] = {"node_modules/@openzeppelin/contracts/package.json": "0" * 64}
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(Recompiled):
        compile_contracts(ws.src, settings=ws.settings)


def test_damaged_cache_recompiles(ws: Workspace, no_solc: None) -> None:
    (build_dir,) = (ws.settings.build_dir / "solc").iterdir()  # not yet read by this process
    (build_dir / "src" / "Tiny.sol" / "Tiny.json").write_text("{trunc")
    with pytest.raises(Recompiled):
        compile_contracts(ws.src, settings=ws.settings)


def test_syntax_error_raises_toolchain_error_with_the_message(ws: Workspace) -> None:
    (ws.src / "Broken.sol").write_text("pragma solidity ^0.8.20;\ncontract Broken { uint x = ; }\n")
    with pytest.raises(ToolchainError) as info:
        compile_contracts(ws.src, settings=ws.settings)
    message = str(info.value)
    assert "ParserError" in message and "src/Broken.sol:2" in message
    assert not [p for p in (ws.settings.build_dir / "solc").iterdir() if p.name.startswith(".")]


def test_no_sources_and_missing_folder_are_errors(tmp_path: Path) -> None:
    settings = Settings(build_dir=tmp_path / "build")
    with pytest.raises(ToolchainError, match=r"no \.sol files"):
        compile_contracts(tmp_path, settings=settings)
    with pytest.raises(ToolchainError, match="no such source folder"):
        compile_contracts(tmp_path / "absent", settings=settings)


def test_missing_solc_is_a_toolchain_error(ws: Workspace, tmp_path: Path) -> None:
    (ws.src / "Tiny.sol").write_text(TINY.replace("VALUE", "4"))  # not cached
    settings = ws.settings.model_copy(update={"solc_binary": tmp_path / "no-solc"})
    with pytest.raises(ToolchainError, match="solc not found"):
        compile_contracts(ws.src, settings=settings)


def test_openzeppelin_import_and_name_lookup(tmp_path: Path) -> None:
    """The fixture imports Ownable through the @openzeppelin remapping."""
    settings = Settings(build_dir=tmp_path / "build")
    folder = tmp_path / "counter"
    shutil.copytree(FIXTURES / "counter", folder)
    build = compile_contracts(folder, settings=settings)
    counter = build["Counter"]
    assert counter.source == "counter/Counter.sol"
    assert {"TooLarge", "OwnableUnauthorizedAccount"} <= {e["name"] for e in counter.errors}
    assert "Ownable" in build and not build["Ownable"].deployable
    deps = json.loads((build.directory / compiler.MANIFEST).read_text())["dependencies"]
    assert "node_modules/@openzeppelin/contracts/access/Ownable.sol" in deps
    with pytest.raises(ToolchainError, match="no contract named"):
        build["Missing"]
