"""The Node tools the zk layer drives: circom2 (circom compiled to WebAssembly) and snarkjs.

zkpy runs ``circom`` and ``snarkjs`` by bare name from ``PATH``. :func:`tools_on_path` makes both
resolvable for the duration of a call: ``snarkjs`` from ``node_modules/.bin`` and ``circom`` as a
small wrapper script around ``circom2`` (zkpy expects a native ``circom``, which cannot be had
offline). :func:`run_tool` runs a tool ourselves where zkpy falls short, raising
:class:`~fairgate.errors.ToolchainError` with the tool's own message on failure.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from fairgate.errors import ToolchainError
from fairgate.settings import PROJECT_ROOT, get_settings

log = logging.getLogger(__name__)

_PATH_LOCK = threading.RLock()
CIRCOM_EXTRA_FLAGS = ("--O2",)


def node_modules() -> Path:
    """The ``node_modules`` folder holding circom2, snarkjs and circomlib."""
    return get_settings().node_modules


def node_executable() -> str:
    """Absolute path of ``node``; ToolchainError if it is missing."""
    node = shutil.which("node")
    if node is None:
        raise ToolchainError("node is not on PATH (needed for circom2 and snarkjs)")
    return node


def snarkjs_cli() -> Path:
    """The snarkjs command-line entry point (a Node script)."""
    cli = node_modules() / "snarkjs" / "build" / "cli.cjs"
    if not cli.is_file():
        raise ToolchainError(f"snarkjs is not installed under {node_modules()} (npm ci)")
    return cli


def circom2_cli() -> Path:
    """The circom2 command-line entry point (a Node script running circom as WebAssembly)."""
    cli = node_modules() / "circom2" / "cli.js"
    if not cli.is_file():
        raise ToolchainError(f"circom2 is not installed under {node_modules()} (npm ci)")
    return cli


def _wrapper_dir() -> Path:
    """A folder with ``circom`` and ``snarkjs`` executables that zkpy can find on PATH."""
    folder = get_settings().zk_build_dir / "bin"
    folder.mkdir(parents=True, exist_ok=True)
    node = node_executable()
    # zkpy cannot pass -l or --O2: the ``circom`` wrapper appends them (see zk.setup).
    circom_extra = f' -l "{node_modules()}" ' + " ".join(CIRCOM_EXTRA_FLAGS)
    for name, cli, extra in (
        ("circom", circom2_cli(), circom_extra),
        ("snarkjs", snarkjs_cli(), ""),
    ):
        script = f'#!/bin/sh\nexec "{node}" "{cli}" "$@"{extra}\n'
        target = folder / name
        if not target.exists() or target.read_text() != script:
            tmp = target.with_suffix(".tmp")
            tmp.write_text(script)
            tmp.chmod(0o755)
            tmp.replace(target)
    return folder


@contextmanager
def tools_on_path() -> Iterator[Path]:
    """Put ``circom`` and ``snarkjs`` first on PATH while zkpy runs (process-wide: locked)."""
    with _PATH_LOCK:
        folder = _wrapper_dir()
        old = os.environ.get("PATH", "")
        os.environ["PATH"] = f"{folder}{os.pathsep}{old}"
        try:
            yield folder
        finally:
            os.environ["PATH"] = old


def run_tool(
    tool: str, args: Sequence[str], *, cwd: Path = PROJECT_ROOT, timeout: float = 1800.0
) -> subprocess.CompletedProcess[str]:
    """Run ``snarkjs`` or ``circom2`` with ``args``; ToolchainError unless it exits 0.

    Arguments must never carry secrets (they show in ``ps``); entropy is passed by the callers
    that need it and is never logged.
    """
    cli = {"snarkjs": snarkjs_cli, "circom2": circom2_cli}[tool]()
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            [node_executable(), str(cli), *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ToolchainError(
            f"{tool} {args[0] if args else ''} timed out after {timeout} s"
        ) from exc
    what = " ".join(args[:2])
    log.info("%s %s: %.1f s (exit %d)", tool, what, time.perf_counter() - started, proc.returncode)
    if proc.returncode != 0:
        tail = (proc.stderr.strip() or proc.stdout.strip())[-2000:]
        raise ToolchainError(f"{tool} {what} failed: {tail}", tool=tool)
    return proc
