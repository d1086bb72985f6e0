"""tools/solc (solcjs behind the native CLI) and its installation for py-solc-x (chain.solc)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import solcx
from packaging.version import Version

from chain.solc import install, solc_version, solcjs_version, wrapper_path

COUNTER = Path(__file__).parent / "fixtures" / "counter" / "Counter.sol"


def test_version_reads_like_native_solc() -> None:
    out = subprocess.run([wrapper_path(), "--version"], capture_output=True, text=True, check=True)
    lines = out.stdout.splitlines()
    assert lines[0] == "solc, the solidity compiler commandline interface"
    assert lines[1].startswith(f"Version: {solcjs_version()}+commit.")
    assert solcx.wrapper.get_solc_version(wrapper_path()) == Version(solcjs_version())
    assert solc_version().startswith(f"{solcjs_version()}+commit.")


def test_standard_json_with_openzeppelin_import_from_another_cwd(tmp_path: Path) -> None:
    """Only JSON on stdout, flags brownie passes are tolerated, imports resolve from any cwd,
    and an output far above the 64 KiB pipe buffer arrives whole."""
    request = {
        "language": "Solidity",
        "sources": {"counter/Counter.sol": {"content": COUNTER.read_text()}},
        "settings": {
            "evmVersion": "shanghai",
            "remappings": ["@openzeppelin/=node_modules/@openzeppelin/"],
            "outputSelection": {"*": {"*": ["*"], "": ["ast"]}},
        },
    }
    out = subprocess.run(
        [wrapper_path(), "--standard-json", "--allow-paths", f"{tmp_path},/nonexistent", "-"],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    assert len(out.stdout) > 128 * 1024  # twice where process.exit() cut it
    result = json.loads(out.stdout)
    assert not [e for e in result.get("errors", []) if e["severity"] == "error"], result
    assert "node_modules/@openzeppelin/contracts/access/Ownable.sol" in result["sources"]
    assert result["contracts"]["counter/Counter.sol"]["Counter"]["evm"]["bytecode"]["object"]


def test_missing_import_is_reported_in_json(tmp_path: Path) -> None:
    request = {
        "language": "Solidity",
        "sources": {"A.sol": {"content": 'pragma solidity ^0.8.0; import "./Nowhere.sol";'}},
        "settings": {"outputSelection": {"*": {"*": ["abi"]}}},
    }
    out = subprocess.run(
        [wrapper_path(), "--standard-json", "--base-path", str(tmp_path)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        check=True,
    )
    errors = json.loads(out.stdout)["errors"]
    assert any("Nowhere.sol" in e["formattedMessage"] for e in errors)


def test_other_modes_fail_cleanly() -> None:
    out = subprocess.run([wrapper_path(), "Counter.sol"], capture_output=True, text=True)
    assert out.returncode == 1 and out.stdout == ""
    assert "--standard-json" in out.stderr


def test_install_makes_py_solc_x_list_the_version(tmp_path: Path) -> None:
    entry = install(tmp_path)
    assert entry == tmp_path / f"solc-v{solcjs_version()}"
    assert entry.resolve() == wrapper_path().resolve()
    assert solcx.get_installed_solc_versions(solcx_binary_path=tmp_path) == [
        Version(solcjs_version())
    ]
    assert install(tmp_path) == entry  # idempotent


def test_install_if_missing_keeps_a_working_entry_and_repairs_a_dangling_one(
    tmp_path: Path,
) -> None:
    other = tmp_path / "other-solc"
    other.write_text("#!/bin/sh\n")
    entry = tmp_path / f"solc-v{solcjs_version()}"
    entry.symlink_to(other)
    install(tmp_path, if_missing=True)
    assert entry.resolve() == other
    other.unlink()  # the checkout it pointed at is gone
    install(tmp_path, if_missing=True)
    assert entry.resolve() == wrapper_path().resolve()
    assert os.access(entry, os.X_OK)


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help(flag: str) -> None:
    out = subprocess.run([wrapper_path(), flag], capture_output=True, text=True, check=True)
    assert "--standard-json" in out.stdout
