"""A pytest plugin: brownie compiles the test project for the session's EVM version.

Brownie's plugin compiles ``contracts/`` while pytest loads its first conftests, from
``brownie-config.yaml``, whose ``evm_version`` and ``hardfork/`` remapping read
``FAIRGATE_EVM_VERSION`` (default shanghai). This plugin (``-p chain.brownie_build`` in
pyproject's ``addopts``; a module of an installed package, because ``-p`` is imported before
pytest puts the project root on ``sys.path``) runs around brownie's load and:

* sets ``FAIRGATE_EVM_VERSION`` for that load only, to the build the session's node runs
  (:func:`session_evm_version`: the setting when it names a build, else the newest build of the
  node's hardfork: cancun with ``FAIRGATE_NODE=anvil``, shanghai on Ganache), so ``make test``'s
  Anvil leg runs the contract suite on the cancun build and its Ganache leg on the shanghai one;
* gives every build but shanghai its own brownie build folder (``build/brownie-<evm>``; shanghai
  keeps brownie's ``build``): brownie decides whether to recompile from the source hashes, the
  compiler version and the optimizer only, not the EVM version, so one folder for both would
  hand the Ganache leg the cancun build, and two legs running at once would overwrite each other;
* has brownie recompile when a lock in ``contracts/_hardfork/<evm>/`` changed: brownie only
  notices changes to the files under ``contracts/`` it compiles itself, and it skips ``_``
  folders, so a stamp of the lock's hash (``<build>/hardfork.sha256``) tells, and a differing one
  removes the build's contract artifacts;
* loads one session at a time per build folder (a file lock): xdist workers of one leg would
  otherwise compile into the same folder at once.

``tests/conftest.py`` checks, once brownie's chain runs, that the node can run the build
(:func:`chain.evm.resolve_evm_version`: cancun on Ganache is refused with a clear error).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from chain.evm import DEFAULT_EVM_VERSION, EvmVersion, build_for_hardfork, resolve_evm_version
from fairgate.errors import ConfigError
from fairgate.settings import PROJECT_ROOT, Settings, get_settings

# imported by every pytest run (pyproject addopts): chain.evm and the settings import no web3

__all__ = ["brownie_build_dir", "compiled_evm_version", "hardfork_hash", "session_evm_version"]

ENV = "FAIRGATE_EVM_VERSION"
STAMP = "hardfork.sha256"
BROWNIE_PLUGIN = "pytest-brownie"


def session_evm_version(settings: Settings | None = None) -> EvmVersion:
    """The build brownie compiles for this session's node (``settings.node``), known before
    the node starts: from its hardfork setting (ConfigError if the setting asks for more)."""
    s = settings or get_settings()
    hardfork = s.anvil_hardfork if s.node == "anvil" else s.ganache_hardfork
    return resolve_evm_version(s.evm_version, build_for_hardfork(hardfork))


def brownie_build_dir(evm_version: str) -> str:
    """Brownie's build folder (relative to the project) for a build."""
    return "build" if evm_version == DEFAULT_EVM_VERSION else f"build/brownie-{evm_version}"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> Generator[None, Any, Any]:
    if not early_config.pluginmanager.has_plugin(BROWNIE_PLUGIN):
        return (yield)  # -p no:pytest-brownie: nothing is compiled
    try:
        evm = session_evm_version()
    except ConfigError as exc:  # FAIRGATE_EVM_VERSION=cancun on Ganache: say so, no traceback
        raise pytest.UsageError(str(exc)) from None
    from brownie._config import CONFIG

    build = brownie_build_dir(evm)
    folder = PROJECT_ROOT / build
    folder.mkdir(parents=True, exist_ok=True)  # brownie makes one level only
    CONFIG.settings._unlock()
    CONFIG.settings["project_structure"]["build"] = build
    CONFIG.settings._lock()
    saved = os.environ.get(ENV)
    os.environ[ENV] = evm
    with (folder / ".load.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        stamp = folder / STAMP
        lock_hash = hardfork_hash(evm)
        if _read(stamp) != lock_hash:
            for artifact in (folder / "contracts").glob("*.json"):
                artifact.unlink(missing_ok=True)  # brownie compiles the project anew
        try:
            result = yield
            stamp.write_text(lock_hash + "\n")
            return result
        finally:
            if saved is None:
                os.environ.pop(ENV, None)
            else:
                os.environ[ENV] = saved


def hardfork_hash(evm_version: str) -> str:
    """SHA-256 over the files of one build's lock folder (``contracts/_hardfork/<evm>/``)."""
    digest = hashlib.sha256()
    root = get_settings().contracts_dir / "_hardfork" / evm_version
    for path in sorted(root.rglob("*.sol")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def compiled_evm_version() -> str | None:
    """The EVM version of the loaded brownie project's build (None: no project loaded)."""
    brownie = sys.modules.get("brownie")
    if brownie is None:
        return None
    projects = brownie.project.get_loaded_projects()
    if not projects:
        return None
    config: dict[str, Any] = projects[0]._compiler_config
    return str(config["evm_version"])
