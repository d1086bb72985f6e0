"""Compile the Solidity sources once, and reuse the artifacts until a source changes.

Every ``.sol`` file under the given source folders (default: ``settings.contracts_dir``) goes
through py-solc-x's ``compile_standard`` in one Standard-JSON call, with the settings the
contracts are tuned for: optimizer on with 1,000 runs, viaIR off (settings ``solc_*``;
``brownie-config.yaml`` must say the same, a test checks it), and one of two EVM versions
(:mod:`chain.evm`): ``shanghai`` (the default build: Ganache 7.9.2 runs nothing newer) or
``cancun`` (Anvil). The remapping ``hardfork/=contracts/_hardfork/<evm version>/`` gives each
build its own reentrancy lock (transient storage on cancun); files under a folder whose name
starts with ``_`` are compiled only when imported (as brownie does), since the cancun lock does
not compile for shanghai. :func:`compile_builds` makes both and checks their ABIs are equal.

Why a cache: solcjs takes seconds for an ERC-721 with OpenZeppelin (4-6 s measured), and every
test process, the demo and the API would otherwise pay it at start. Artifacts live in
``<build_dir>/solc/<key>/`` where ``key`` hashes the compiler identity, the compiler settings and
the content of every source. A source imports files we do not list (``@openzeppelin/...``): their
hashes are recorded in the manifest after compiling and checked on every hit, so an upgraded
dependency (or an edited lock in ``contracts/_hardfork/``) recompiles too. Each EVM version has
its own key, so both builds stay cached side by side. Folders are written under a temporary name
and renamed into place, so concurrent processes never read a half-written build. ``build/solc``
is ours; ``build/contracts`` (and ``build/brownie-cancun``) belong to brownie, which compiles
``contracts/`` itself (``chain.brownie_build``).

Source unit names are the file's path relative to its source folder's parent
(``contracts/TicketEvent.sol``, as brownie names them), so bytecode metadata does not depend on
where the checkout lives.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import solcx
from solcx.exceptions import SolcError

from chain.abi import Artifact, is_import_only
from chain.evm import EVM_VERSIONS
from chain.solc import solc_version, solcjs_version
from fairgate.errors import ToolchainError
from fairgate.settings import PROJECT_ROOT, Settings, get_settings

__all__ = [
    "Artifacts",
    "compile_builds",
    "compile_contracts",
    "load_artifact",
    "standard_json_settings",
]

log = logging.getLogger(__name__)

CACHE_SUBDIR = "solc"
MANIFEST = "manifest.json"
KEEP_BUILDS = 20  # older cache folders are pruned after a compile
HEARTBEAT_S = 10.0
OUTPUT_SELECTION = [
    "abi",
    "evm.bytecode.object",
    "evm.bytecode.linkReferences",
    "evm.deployedBytecode.object",
    "evm.methodIdentifiers",
]

JSON = dict[str, Any]
_LOADED: dict[Path, tuple[int, Artifacts]] = {}  # builds read by this process, see _load_build


@dataclass(frozen=True)
class Artifacts:
    """All contracts of one build, looked up by ``Name`` or ``source:Name``.

    A bare name prefers the contracts of our own sources over dependencies (OpenZeppelin's
    ``ERC721`` does not shadow ours); a bare name defined twice in our sources is ambiguous and
    must be qualified.
    """

    key: str
    directory: Path
    solc_version: str
    sources: tuple[str, ...]
    contracts: Mapping[str, Artifact]  # by qualified name
    evm_version: str = ""

    def __getitem__(self, name: str) -> Artifact:
        if name in self.contracts:
            return self.contracts[name]
        matches = [a for a in self.contracts.values() if a.name == name]
        own = [a for a in matches if a.source in self.sources]
        candidates = own or matches
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            raise ToolchainError(f"no contract named {name!r} in the build {self.key}")
        names = ", ".join(sorted(a.qualified_name for a in candidates))
        raise ToolchainError(f"contract name {name!r} is ambiguous, qualify it: {names}")

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        return name in self.contracts or any(a.name == name for a in self.contracts.values())

    def __iter__(self) -> Iterator[Artifact]:
        return iter(self.contracts.values())

    def __len__(self) -> int:
        return len(self.contracts)


def standard_json_settings(
    settings: Settings | None = None, evm_version: str | None = None
) -> JSON:
    """The ``settings`` object of our Standard-JSON input (also hashed into the cache key), for
    ``evm_version`` (default ``settings.solc_evm_version``, the shanghai build)."""
    settings = settings or get_settings()
    evm = evm_version or settings.solc_evm_version
    if evm not in EVM_VERSIONS:
        raise ToolchainError(f"no build for EVM version {evm!r}: one of {', '.join(EVM_VERSIONS)}")
    openzeppelin = os.path.relpath(settings.node_modules / "@openzeppelin", PROJECT_ROOT)
    hardfork = os.path.relpath(settings.contracts_dir / "_hardfork" / evm, PROJECT_ROOT)
    return {
        "evmVersion": evm,
        "optimizer": {"enabled": True, "runs": settings.solc_optimizer_runs},
        "viaIR": settings.solc_via_ir,
        "remappings": [
            f"@openzeppelin/={Path(openzeppelin).as_posix()}/",
            f"hardfork/={Path(hardfork).as_posix()}/",
        ],
        "outputSelection": {"*": {"*": OUTPUT_SELECTION}},
    }


def compile_contracts(
    source_dirs: Path | Sequence[Path] | None = None,
    *,
    settings: Settings | None = None,
    force: bool = False,
    evm_version: str | None = None,
) -> Artifacts:
    """Compile every ``.sol`` under ``source_dirs``, or return the cached build of these sources.

    ``source_dirs`` defaults to ``settings.contracts_dir``; ``evm_version`` to
    ``settings.solc_evm_version`` (shanghai). ``force`` recompiles even on a hit.
    Raises :class:`~fairgate.errors.ToolchainError` with the compiler's messages on a compile
    error, and when solc is missing or fails.
    """
    settings = settings or get_settings()
    dirs = _as_dirs(source_dirs, settings)
    sources = _read_sources(dirs)
    std_settings = standard_json_settings(settings, evm_version)
    identity = _compiler_identity(settings.solc_binary)
    key = _cache_key(identity, std_settings, sources)
    directory = settings.build_dir / CACHE_SUBDIR / key

    if not force:
        cached = _load_build(directory, key)
        if cached is not None:
            log.debug("solc cache hit %s (%d sources)", key, len(sources))
            with suppress(OSError):
                os.utime(directory)  # recently used builds survive pruning
            return cached

    output, version, elapsed = _run_solc(sources, std_settings, settings)
    build = _write_build(directory, key, version, sources, output, std_settings)
    log.info(
        "compiled %d sources into %d contracts in %.1f s (cache %s)",
        len(sources),
        len(build),
        elapsed,
        key,
    )
    _prune(directory.parent, keep=KEEP_BUILDS)
    return build


def compile_builds(
    source_dirs: Path | Sequence[Path] | None = None,
    *,
    settings: Settings | None = None,
    force: bool = False,
) -> dict[str, Artifacts]:
    """One build per EVM version (:data:`chain.evm.EVM_VERSIONS`, the default first).

    Raises ToolchainError when a contract's ABI differs between builds: every process loads one
    set of ABIs (:mod:`chain.abi`) whichever build the node runs.
    """
    builds: dict[str, Artifacts] = {
        evm: compile_contracts(source_dirs, settings=settings, force=force, evm_version=evm)
        for evm in EVM_VERSIONS
    }
    first, *others = builds.values()
    for other in others:
        for artifact in first:
            if is_import_only(artifact.source):
                continue  # each build's own lock library (contracts/_hardfork/<evm>/)
            twin = other.contracts.get(artifact.qualified_name)
            if twin is None or twin.abi != artifact.abi:
                raise ToolchainError(
                    f"{artifact.qualified_name}: the {other.evm_version} build's ABI differs from "
                    f"the {first.evm_version} build's; the builds must keep one interface"
                )
    return builds


def load_artifact(
    name: str,
    source_dirs: Path | Sequence[Path] | None = None,
    *,
    settings: Settings | None = None,
    evm_version: str | None = None,
) -> Artifact:
    """One contract (``Name`` or ``source:Name``) of the current build for ``evm_version``
    (default: the shanghai build), compiling if needed."""
    return compile_contracts(source_dirs, settings=settings, evm_version=evm_version)[name]


def _as_dirs(source_dirs: Path | Sequence[Path] | None, settings: Settings) -> list[Path]:
    if source_dirs is None:
        dirs = [settings.contracts_dir]
    elif isinstance(source_dirs, Path | str):
        dirs = [Path(source_dirs)]
    else:
        dirs = [Path(d) for d in source_dirs]
    resolved = [d.resolve() for d in dirs]
    for d in resolved:
        if not d.is_dir():
            raise ToolchainError(f"no such source folder: {d}")
    return resolved


def _read_sources(dirs: Iterable[Path]) -> dict[str, str]:
    """``{source unit name: content}`` for every ``.sol`` file, sorted by name."""
    sources: dict[str, str] = {}
    origin: dict[str, Path] = {}
    for folder in dirs:
        for path in sorted(folder.rglob("*.sol")):
            unit = path.relative_to(folder.parent).as_posix()
            if is_import_only(unit):
                continue  # contracts/_hardfork/<evm>/: compiled through the remapping only
            if unit in sources and origin[unit] != path:
                raise ToolchainError(f"two sources named {unit}: {origin[unit]} and {path}")
            sources[unit] = path.read_text(encoding="utf-8")
            origin[unit] = path
    if not sources:
        raise ToolchainError(f"no .sol files under {', '.join(map(str, dirs))}")
    return dict(sorted(sources.items()))


def _compiler_identity(binary: Path) -> str:
    """What the cache key knows of the compiler, without starting it when it is our wrapper.

    Asking solcjs its version costs about 0.4 s, so for ``tools/solc`` the npm package's version
    stands in; another binary (a native solc) is asked once per process.
    """
    wrapper = PROJECT_ROOT / "tools" / "solc"
    if binary.resolve() == wrapper.resolve():
        return f"solcjs-{solcjs_version()}"
    return solc_version(binary)


def _sha256(text: str | bytes) -> str:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


def _cache_key(identity: str, std_settings: JSON, sources: Mapping[str, str]) -> str:
    material = {
        "compiler": identity,
        "settings": std_settings,
        "sources": {unit: _sha256(content) for unit, content in sources.items()},
    }
    return _sha256(json.dumps(material, sort_keys=True))[:20]


def _dependency_hashes(units: Iterable[str]) -> dict[str, str]:
    """Hashes of imported files (unit names as resolved, relative to the project root)."""
    hashes = {}
    for unit in units:
        path = PROJECT_ROOT / unit
        try:
            hashes[unit] = _sha256(path.read_bytes())
        except OSError:
            hashes[unit] = "missing"
    return hashes


def _load_build(directory: Path, key: str) -> Artifacts | None:
    """The cached build in ``directory`` if complete and its dependencies are unchanged.

    Builds already read by this process are kept in memory (a build folder never changes once
    renamed into place; the manifest's mtime tells a replaced one), so repeated calls cost the
    hashing only: treat the returned artifacts as read-only, they are shared.
    """
    manifest_path = directory / MANIFEST
    try:
        stamp = manifest_path.stat().st_mtime_ns
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        return None
    deps: dict[str, str] = manifest.get("dependencies", {})
    if _dependency_hashes(deps) != deps:
        log.info("an imported file changed since build %s: recompiling", key)
        return None
    memo = _LOADED.get(directory)
    if memo is not None and memo[0] == stamp:
        return memo[1]
    contracts = {}
    try:
        for relative in manifest["artifacts"]:
            artifact = Artifact.from_json(json.loads((directory / relative).read_text()))
            contracts[artifact.qualified_name] = artifact
    except (OSError, ValueError, KeyError):
        log.warning("cached build %s is damaged: recompiling", key)
        return None
    build = Artifacts(
        key=key,
        directory=directory,
        solc_version=manifest["solcVersion"],
        sources=tuple(manifest["sources"]),
        contracts=contracts,
        evm_version=manifest.get("settings", {}).get("evmVersion", ""),
    )
    _LOADED[directory] = (stamp, build)
    return build


@contextmanager
def _heartbeat(what: str, every_s: float = HEARTBEAT_S) -> Iterator[None]:
    """Log a line every ``every_s`` seconds while a long step runs (solcjs has no progress)."""
    done = threading.Event()
    start = time.monotonic()

    def beat() -> None:
        while not done.wait(every_s):
            log.info("%s: still running (%.0f s)", what, time.monotonic() - start)

    thread = threading.Thread(target=beat, name="solc-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def _run_solc(
    sources: Mapping[str, str], std_settings: JSON, settings: Settings
) -> tuple[JSON, str, float]:
    """Compile; return the Standard-JSON output, the full compiler version and the seconds."""
    binary = settings.solc_binary
    version = solc_version(binary)
    input_json = {
        "language": "Solidity",
        "sources": {unit: {"content": content} for unit, content in sources.items()},
        "settings": std_settings,
    }
    log.info(
        "compiling %d Solidity sources with solc %s (evm %s, optimizer runs %d, viaIR %s)",
        len(sources),
        version,
        std_settings["evmVersion"],
        std_settings["optimizer"]["runs"],
        std_settings["viaIR"],
    )
    start = time.monotonic()
    try:
        with _heartbeat("solc"):
            output: JSON = solcx.compile_standard(
                input_json,
                solc_binary=binary,
                base_path=PROJECT_ROOT,
                allow_paths=[PROJECT_ROOT, settings.node_modules],
            )
    except SolcError as exc:
        detail = exc.message
        if exc.error_dict is None and exc.stderr_data:  # the compiler crashed: no JSON errors
            detail = f"{detail}: {exc.stderr_data.strip()[-2000:]}"
        raise ToolchainError(f"solc failed:\n{detail}") from None
    except (OSError, ValueError) as exc:  # missing binary or non-JSON output
        raise ToolchainError(f"could not run solc ({binary}): {exc}") from exc
    elapsed = time.monotonic() - start
    for message in output.get("errors", []):
        if message.get("severity") == "error":
            continue
        # ours are worth a warning; a dependency's (OpenZeppelin's) are not ours to fix
        ours = message.get("sourceLocation", {}).get("file") in sources
        log.log(
            logging.WARNING if ours else logging.DEBUG,
            "solc: %s",
            message.get("formattedMessage", message.get("message")),
        )
    return output, version, elapsed


def _write_build(
    directory: Path,
    key: str,
    version: str,
    sources: Mapping[str, str],
    output: JSON,
    std_settings: JSON,
) -> Artifacts:
    """Write artifacts and manifest under a temporary name, then rename into place."""
    contracts: dict[str, Artifact] = {}
    for unit, by_name in output.get("contracts", {}).items():
        for name, data in by_name.items():
            evm = data.get("evm", {})
            artifact = Artifact(
                name=name,
                source=unit,
                abi=data.get("abi", []),
                bytecode="0x" + evm.get("bytecode", {}).get("object", ""),
                deployed_bytecode="0x" + evm.get("deployedBytecode", {}).get("object", ""),
                method_identifiers=evm.get("methodIdentifiers", {}),
                link_references=evm.get("bytecode", {}).get("linkReferences", {}),
            )
            contracts[artifact.qualified_name] = artifact
    dependencies = sorted(set(output.get("sources", {})) - set(sources))
    tmp = directory.parent / f".tmp-{key}-{os.getpid()}-{threading.get_ident()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    paths = []
    for artifact in contracts.values():
        relative = f"{artifact.source}/{artifact.name}.json"
        (tmp / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp / relative).write_text(json.dumps(artifact.to_json(), indent=1))
        paths.append(relative)
    manifest = {
        "key": key,
        "solcVersion": version,
        "settings": std_settings,
        "sources": list(sources),
        "dependencies": _dependency_hashes(dependencies),
        "artifacts": sorted(paths),
        "createdAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))
    _move_into_place(tmp, directory)
    return Artifacts(
        key=key,
        directory=directory,
        solc_version=version,
        sources=tuple(sources),
        contracts=contracts,
        evm_version=std_settings["evmVersion"],
    )


def _move_into_place(tmp: Path, directory: Path) -> None:
    """Rename ``tmp`` to ``directory``, replacing a stale build; a concurrent twin may win."""
    if directory.exists():
        stale = directory.with_name(f".stale-{directory.name}-{os.getpid()}")
        with suppress(OSError):
            directory.rename(stale)
        shutil.rmtree(stale, ignore_errors=True)
    try:
        tmp.rename(directory)
    except OSError:  # another process renamed its identical build first
        shutil.rmtree(tmp, ignore_errors=True)


def _prune(cache_root: Path, keep: int) -> None:
    """Delete all but the ``keep`` most recent builds (each a few hundred KiB)."""
    builds = [p for p in cache_root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    builds.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for old in builds[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """``python -m chain.compiler [--force] [--evm-version V] [SOURCE_DIR ...]``: compile (or
    warm the cache of) every build, or the one of ``--evm-version``."""
    parser = argparse.ArgumentParser(prog="python -m chain.compiler", description="compile .sol")
    parser.add_argument("source_dirs", nargs="*", type=Path, help="default: settings.contracts_dir")
    parser.add_argument("--force", action="store_true", help="recompile even on a cache hit")
    parser.add_argument("--evm-version", choices=EVM_VERSIONS, help="one build (default: all)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if args.evm_version:
            builds = {
                args.evm_version: compile_contracts(
                    args.source_dirs or None, force=args.force, evm_version=args.evm_version
                )
            }
        else:
            builds = compile_builds(args.source_dirs or None, force=args.force)
    except ToolchainError as exc:
        log.error("%s", exc)
        return 1
    for evm, build in builds.items():
        deployable = sum(1 for artifact in build if artifact.deployable)
        sys.stdout.write(
            f"{evm}: {len(build)} contracts ({deployable} deployable) in {build.directory}\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
