"""The Solidity compiler executable, and its installation where py-solc-x and brownie look.

No native ``solc`` can be downloaded here, so ``tools/solc`` (a Node script around the npm
``solc`` package, i.e. solcjs) speaks the native command line that py-solc-x 2.0.5 and brownie
1.22.2 use: ``--version`` and ``--standard-json``. See that file for why ``solcjs`` itself does
not do.

py-solc-x finds compilers only as ``<install folder>/solc-v<X.Y.Z>``, where the install folder is
``$SOLCX_BINARY_PATH`` if set, else ``~/.solcx``; brownie asks py-solc-x
(``solcx.get_installed_solc_versions``) and has no setting of its own. :func:`install` puts a
symlink to the wrapper there. Our own compiler (``chain.compiler``) does not depend on that
installation: it passes ``settings.solc_binary`` to py-solc-x explicitly.

Command line (used by ``scripts/setup.sh``)::

    python -m chain.solc install [--dir DIR] [--if-missing]
    python -m chain.solc version
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

from fairgate.errors import ToolchainError
from fairgate.settings import get_settings

__all__ = ["install", "install_folder", "solc_version", "solcjs_version", "wrapper_path"]

log = logging.getLogger(__name__)

VERSION_TIMEOUT_S = 60.0


def wrapper_path() -> Path:
    """The solc executable our code uses (``settings.solc_binary``, by default ``tools/solc``)."""
    return get_settings().solc_binary


def solcjs_version() -> str:
    """The version (``X.Y.Z``) of the npm ``solc`` package, read without starting Node."""
    package = get_settings().node_modules / "solc" / "package.json"
    try:
        return str(json.loads(package.read_text())["version"])
    except (OSError, ValueError, KeyError) as exc:
        raise ToolchainError(
            f"the npm package solc is not installed ({package}): run scripts/setup.sh"
        ) from exc


@lru_cache(maxsize=8)
def _version_of(binary: str, mtime_ns: int) -> str:
    try:
        out = subprocess.run(
            [binary, "--version"],
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT_S,
            check=True,
        ).stdout
    except FileNotFoundError as exc:
        raise ToolchainError(f"solc not found at {binary} (is node installed?)") from exc
    except subprocess.CalledProcessError as exc:
        raise ToolchainError(f"{binary} --version failed: {exc.stderr.strip()}") from exc
    except subprocess.TimeoutExpired as exc:
        raise ToolchainError(f"{binary} --version did not answer in {VERSION_TIMEOUT_S} s") from exc
    for line in out.splitlines():
        if line.startswith("Version:"):
            return line.split(":", 1)[1].strip()
    raise ToolchainError(f"{binary} --version printed no 'Version:' line")


def solc_version(binary: Path | None = None) -> str:
    """The full version of a solc executable, e.g. ``0.8.37+commit.f401782d.Emscripten.clang``.

    Asked once per process and executable (starting solcjs takes about 0.4 s).
    """
    path = binary or wrapper_path()
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise ToolchainError(f"solc not found at {path}: run scripts/setup.sh") from exc
    return _version_of(str(path), mtime)


def install_folder() -> Path:
    """Where py-solc-x (and so brownie) looks: ``$SOLCX_BINARY_PATH`` or ``~/.solcx``."""
    env = os.environ.get("SOLCX_BINARY_PATH")
    return Path(env) if env else Path.home() / ".solcx"


def install(folder: Path | None = None, *, if_missing: bool = False) -> Path:
    """Link ``<folder>/solc-v<version>`` to the wrapper so py-solc-x lists that version.

    ``if_missing``: keep an entry that already works (a native solc, or another checkout's
    wrapper) and only replace one that is absent or dangling. Used for the machine-wide
    ``~/.solcx``, which several checkouts share; a checkout's own folder is always re-pointed.
    Returns the path of the entry.
    """
    folder = folder or install_folder()
    wrapper = wrapper_path().resolve()
    if not wrapper.is_file():
        raise ToolchainError(f"the solc wrapper is missing at {wrapper}")
    entry = folder / f"solc-v{solcjs_version()}"
    if if_missing and entry.exists():  # exists() follows the link: False when dangling
        log.debug("keeping %s -> %s", entry, entry.resolve())
        return entry
    if entry.is_symlink() and entry.resolve() == wrapper:
        return entry
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{entry.name}.{os.getpid()}.tmp"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(wrapper)
    tmp.replace(entry)  # atomic: a concurrent compile never sees the entry missing
    log.info("installed %s -> %s", entry, wrapper)
    return entry


def main(argv: list[str] | None = None) -> int:
    """``python -m chain.solc install|version``."""
    parser = argparse.ArgumentParser(prog="python -m chain.solc", description="solc for py-solc-x")
    sub = parser.add_subparsers(dest="command", required=True)
    inst = sub.add_parser("install", help="link solc-v<version> to the wrapper for py-solc-x")
    inst.add_argument("--dir", type=Path, help="default: $SOLCX_BINARY_PATH or ~/.solcx")
    inst.add_argument("--if-missing", action="store_true", help="keep a working entry")
    sub.add_parser("version", help="print the wrapper's full solc version")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if args.command == "install":
            sys.stdout.write(f"{install(args.dir, if_missing=args.if_missing)}\n")
        else:
            sys.stdout.write(f"{solc_version()}\n")
    except ToolchainError as exc:
        log.error("error: %s", exc)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
