"""The contracts' ABIs and code as package data (``chain/abi/contracts/``), written by the set-up.

Processes load the contracts from here instead of compiling at start, so the bridge, the CLI and
the gate run without Node and solc once set up (nothing here imports the compiler). What is
generated from the ABIs comes from here too: the revert classes of :mod:`chain.errors` are
registered from every packaged ABI, and event decoding reads the same ABIs.

``python -m chain.abi`` (step 6 of ``scripts/setup.sh``; ``make abi``) compiles ``contracts/``
through :mod:`chain.compiler`'s cache and writes ``chain/abi/contracts/``: one ``<Name>.json``
per contract of our own sources (ABI, creation and runtime code) and ``manifest.json`` with the
SHA-256 of every source. The files are generated, not committed: contracts change often (three
people edit them at once this week) and a committed JSON would conflict on every rebase and go
stale in review; the set-up writes them in a second from the compile cache (content-hashed), and
a package built from a set-up checkout carries them (``pyproject.toml`` package data).

Staleness: in a checkout (``settings.contracts_dir`` exists), the first load compares the
manifest's source hashes with ``contracts/`` and refuses a stale copy with a
:class:`~fairgate.errors.ToolchainError` naming the command that regenerates it, rather than run
with an ABI the contracts no longer have; ``tests/chain/test_abi_data.py`` fails on it too.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from eth_utils.abi import abi_to_signature, function_signature_to_4byte_selector

from fairgate.errors import ToolchainError
from fairgate.settings import Settings, get_settings

if TYPE_CHECKING:
    from eth_typing import ABIError

    from chain.compiler import Artifacts

__all__ = [
    "ABI_DIR",
    "Artifact",
    "artifact",
    "check_fresh",
    "packaged_names",
    "source_hashes",
    "stale_sources",
    "write_abi_data",
]

log = logging.getLogger(__name__)

ABI_DIR = Path(__file__).resolve().parent / "contracts"
MANIFEST = "manifest.json"
REGENERATE = "make abi (or .venv/bin/python -m chain.abi)"
JSON = dict[str, Any]


@dataclass(frozen=True)
class Artifact:
    """One compiled contract.

    ``bytecode`` is the creation code and ``deployed_bytecode`` the runtime code, both ``0x``-hex
    (``"0x"`` for interfaces and abstract contracts). ``link_references`` is non-empty when the
    code calls external libraries that must be linked before deployment.
    """

    name: str
    source: str
    abi: list[JSON]
    bytecode: str
    deployed_bytecode: str
    method_identifiers: dict[str, str] = field(default_factory=dict)
    link_references: JSON = field(default_factory=dict)

    @property
    def qualified_name(self) -> str:
        """``source:Name``, unique within one build."""
        return f"{self.source}:{self.name}"

    @property
    def deployable(self) -> bool:
        """Whether there is creation code (not an interface or abstract contract)."""
        return len(self.bytecode) > 2

    @property
    def errors(self) -> list[JSON]:
        """The custom errors in the ABI (``type == "error"``), inherited ones included."""
        return [entry for entry in self.abi if entry.get("type") == "error"]

    @property
    def error_selectors(self) -> dict[str, JSON]:
        """Custom errors by their 4-byte selector (``0x``-hex), to decode revert data."""
        selectors = {}
        for entry in self.errors:
            signature = abi_to_signature(cast("ABIError", entry))
            selectors["0x" + function_signature_to_4byte_selector(signature).hex()] = entry
        return selectors

    def to_json(self) -> JSON:
        return {
            "contractName": self.name,
            "sourceName": self.source,
            "abi": self.abi,
            "bytecode": self.bytecode,
            "deployedBytecode": self.deployed_bytecode,
            "methodIdentifiers": self.method_identifiers,
            "linkReferences": self.link_references,
        }

    @classmethod
    def from_json(cls, data: JSON) -> Artifact:
        return cls(
            name=data["contractName"],
            source=data["sourceName"],
            abi=data["abi"],
            bytecode=data["bytecode"],
            deployed_bytecode=data["deployedBytecode"],
            method_identifiers=data.get("methodIdentifiers", {}),
            link_references=data.get("linkReferences", {}),
        )


def source_hashes(contracts_dir: Path) -> dict[str, str]:
    """SHA-256 of every ``.sol`` under ``contracts_dir``, by source unit name
    (``contracts/TicketEvent.sol``, as :mod:`chain.compiler` names them)."""
    return {
        path.relative_to(contracts_dir.parent).as_posix(): hashlib.sha256(
            path.read_bytes()
        ).hexdigest()
        for path in sorted(contracts_dir.rglob("*.sol"))
    }


def _manifest(directory: Path) -> JSON:
    try:
        data: JSON = json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError):
        raise ToolchainError(
            f"no contract ABIs in {directory} (the set-up writes them): run {REGENERATE}"
        ) from None
    return data


def stale_sources(directory: Path = ABI_DIR, contracts_dir: Path | None = None) -> list[str]:
    """The sources added, removed or changed since the package data was written (empty: fresh)."""
    contracts_dir = contracts_dir or get_settings().contracts_dir
    recorded: dict[str, str] = _manifest(directory).get("sources", {})
    current = source_hashes(contracts_dir)
    return sorted(
        unit for unit in set(recorded) | set(current) if recorded.get(unit) != current.get(unit)
    )


def check_fresh(directory: Path = ABI_DIR, contracts_dir: Path | None = None) -> None:
    """Refuse package data written from other sources than the checkout's ``contracts/``."""
    stale = stale_sources(directory, contracts_dir)
    if stale:
        shown = ", ".join(stale[:5]) + (f" and {len(stale) - 5} more" if len(stale) > 5 else "")
        raise ToolchainError(
            f"the contract ABIs in {directory} are stale against {shown}: run {REGENERATE}"
        )


@cache
def _checked(directory: Path) -> None:
    """Once per process: the freshness check, where there is a checkout to check against."""
    contracts_dir = get_settings().contracts_dir
    if contracts_dir.is_dir():
        check_fresh(directory, contracts_dir)


@cache
def _load(directory: Path, name: str) -> Artifact:
    _checked(directory)
    path = directory / f"{name}.json"
    try:
        return Artifact.from_json(json.loads(path.read_text()))
    except FileNotFoundError:
        known = ", ".join(packaged_names(directory))
        raise ToolchainError(f"no contract named {name!r} in {directory} ({known})") from None
    except (OSError, ValueError, KeyError) as exc:
        raise ToolchainError(f"{path} is damaged ({exc}): run {REGENERATE}") from None


def artifact(name: str, directory: Path = ABI_DIR) -> Artifact:
    """One of our contracts (``TicketEvent``, ``TicketFactory``...) from the package data."""
    return _load(directory, name)


def packaged_names(directory: Path = ABI_DIR) -> list[str]:
    """The contracts in the package data."""
    return list(_manifest(directory).get("contracts", []))


def all_abis(directory: Path = ABI_DIR) -> Iterable[list[JSON]]:
    for name in packaged_names(directory):
        yield artifact(name, directory).abi


def write_abi_data(build: Artifacts, contracts_dir: Path, directory: Path = ABI_DIR) -> Path:
    """Write the contracts of our own sources in ``build`` as package data (atomically)."""
    own = [a for a in build if a.source in build.sources]
    names: dict[str, str] = {}
    for item in own:
        if item.name in names:
            raise ToolchainError(
                f"two contracts named {item.name} ({names[item.name]}, {item.source}): "
                "package data names files by contract"
            )
        names[item.name] = item.source
    hashes = source_hashes(contracts_dir)
    if set(hashes) != set(build.sources):
        raise ToolchainError(f"the build {build.key} was not compiled from {contracts_dir}")
    tmp = directory.with_name(f".{directory.name}-{os.getpid()}-{threading.get_ident()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for item in own:
        (tmp / f"{item.name}.json").write_text(json.dumps(item.to_json(), indent=1) + "\n")
    manifest = {
        "generatedBy": "python -m chain.abi",
        "build": build.key,
        "solcVersion": build.solc_version,
        "sources": hashes,
        "contracts": sorted(names),
    }
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    old = directory.with_name(f".{directory.name}-old-{os.getpid()}")
    if directory.exists():
        directory.rename(old)
    tmp.rename(directory)
    shutil.rmtree(old, ignore_errors=True)
    _load.cache_clear()
    _checked.cache_clear()
    return directory


def main(argv: list[str] | None = None, settings: Settings | None = None) -> int:
    """``python -m chain.abi``: compile ``contracts/`` (cached) and write the package data."""
    from chain.compiler import compile_contracts  # the only road that needs solc

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = settings or get_settings()
    try:
        build = compile_contracts(settings.contracts_dir, settings=settings)
        written = write_abi_data(build, settings.contracts_dir)
    except ToolchainError as exc:
        log.error("%s", exc)
        return 1
    sys.stdout.write(f"{len(packaged_names(written))} contract ABIs in {written}\n")
    return 0
