"""The contracts' ABIs and code as package data (``chain/abi/contracts/``), written by the set-up.

Processes load the contracts from here instead of compiling at start, so the bridge, the CLI and
the gate run without Node and solc once set up (nothing here imports the compiler). What is
generated from the ABIs comes from here too: the revert classes of :mod:`chain.errors` are
registered from every packaged ABI, and event decoding reads the same ABIs.

``python -m chain.abi`` (step 6 of ``scripts/setup.sh``; ``make abi``) compiles ``contracts/``
through :mod:`chain.compiler`'s cache and writes ``chain/abi/contracts/``: one ``<Name>.json``
per contract of our own sources (ABI, creation and runtime code) and ``manifest.json`` with the
SHA-256 of every source. The contracts have one build per EVM version (:mod:`chain.evm`) and one
ABI (the writer refuses builds whose ABIs differ): a ``<Name>.json`` holds the ABI and the
default (shanghai) build's code at its top level, and every build's code under ``code``;
``artifact(name, evm_version=...)`` returns the ABI with the code of that build. The files are
generated, not committed: contracts change often (three people edit them at once this week) and
a committed JSON would conflict on every rebase and go stale in review; the set-up writes them in
a second from the compile cache (content-hashed), and a package built from a set-up checkout
carries them (``pyproject.toml`` package data).

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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
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
    "evm_versions",
    "is_import_only",
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


def is_import_only(unit: str) -> bool:
    """Whether a source unit (``contracts/_hardfork/cancun/ReentrancyLock.sol``) lies in a folder
    whose name starts with ``_``: compiled only where imported (through a remapping), never as a
    source of its own; brownie skips such folders too."""
    return any(part.startswith("_") for part in unit.split("/")[1:-1])


def source_hashes(contracts_dir: Path) -> dict[str, str]:
    """SHA-256 of every ``.sol`` under ``contracts_dir``, by source unit name
    (``contracts/TicketEvent.sol``, as :mod:`chain.compiler` names them), import-only units
    included: an edited lock makes the package data stale too."""
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
def _load(directory: Path, name: str, evm_version: str | None) -> Artifact:
    _checked(directory)
    path = directory / f"{name}.json"
    try:
        data = json.loads(path.read_text())
        loaded = Artifact.from_json(data)
        if evm_version is None:
            return loaded
        code = data.get("code", {}).get(evm_version)
        if code is None:
            raise ToolchainError(
                f"no {evm_version} build of {name} in {directory} "
                f"(builds: {', '.join(evm_versions(directory))}): run {REGENERATE}"
            )
        return replace(
            loaded, bytecode=code["bytecode"], deployed_bytecode=code["deployedBytecode"]
        )
    except FileNotFoundError:
        known = ", ".join(packaged_names(directory))
        raise ToolchainError(f"no contract named {name!r} in {directory} ({known})") from None
    except (OSError, ValueError, KeyError) as exc:
        raise ToolchainError(f"{path} is damaged ({exc}): run {REGENERATE}") from None


def artifact(name: str, directory: Path = ABI_DIR, *, evm_version: str | None = None) -> Artifact:
    """One of our contracts (``TicketEvent``, ``TicketFactory``...) from the package data, with
    the code of the ``evm_version`` build (default: the default, shanghai, build)."""
    return _load(directory, name, evm_version)


def evm_versions(directory: Path = ABI_DIR) -> list[str]:
    """The builds in the package data, the default one first."""
    return list(_manifest(directory).get("evmVersions", []))


def packaged_names(directory: Path = ABI_DIR) -> list[str]:
    """The contracts in the package data."""
    return list(_manifest(directory).get("contracts", []))


def all_abis(directory: Path = ABI_DIR) -> Iterable[list[JSON]]:
    for name in packaged_names(directory):
        yield artifact(name, directory).abi


def write_abi_data(
    builds: Artifacts | Mapping[str, Artifacts], contracts_dir: Path, directory: Path = ABI_DIR
) -> Path:
    """Write the contracts of our own sources as package data (atomically): the ABI and code of
    the first build (the default), and every build's code. ``builds``: by EVM version, or one
    build. ToolchainError if the builds' ABIs or contracts differ."""
    if not isinstance(builds, Mapping):
        builds = {builds.evm_version or "default": builds}
    build, *others = builds.values()
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
    compiled = {unit for unit in hashes if not is_import_only(unit)}
    for each in builds.values():
        if compiled != set(each.sources):
            raise ToolchainError(f"the build {each.key} was not compiled from {contracts_dir}")
    for other in others:
        for item in own:
            twin = other.contracts.get(item.qualified_name)
            if twin is None or twin.abi != item.abi:
                raise ToolchainError(
                    f"{item.qualified_name}: its ABI differs between the builds "
                    f"{build.key} and {other.key} (one set of ABIs for every build)"
                )
    tmp = directory.with_name(f".{directory.name}-{os.getpid()}-{threading.get_ident()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for item in own:
        data = item.to_json()
        data["code"] = {
            evm: {
                "bytecode": each.contracts[item.qualified_name].bytecode,
                "deployedBytecode": each.contracts[item.qualified_name].deployed_bytecode,
            }
            for evm, each in builds.items()
        }
        (tmp / f"{item.name}.json").write_text(json.dumps(data, indent=1) + "\n")
    manifest = {
        "generatedBy": "python -m chain.abi",
        "build": build.key,
        "builds": {evm: each.key for evm, each in builds.items()},
        "evmVersions": list(builds),
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
    from chain.compiler import compile_builds  # the only road that needs solc

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = settings or get_settings()
    try:
        builds = compile_builds(settings.contracts_dir, settings=settings)
        written = write_abi_data(builds, settings.contracts_dir)
    except ToolchainError as exc:
        log.error("%s", exc)
        return 1
    sys.stdout.write(
        f"{len(packaged_names(written))} contract ABIs ({', '.join(evm_versions(written))} "
        f"builds) in {written}\n"
    )
    return 0
