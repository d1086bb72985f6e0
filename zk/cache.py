"""Content-addressed cache of ceremony artifacts (ptau, r1cs, wasm, zkey, verification key).

Layout under ``settings.zk_cache_dir`` (default ``~/.cache/fairgate/zk``), outside the git tree so
that a fresh clone on the same machine (CI) reuses a finished ceremony:

    <cache>/<kind>/<key>/            one entry; ``key`` is a SHA-256 of everything it depends on
    <cache>/<kind>/<key>/manifest.json   {"files": {name: sha256}, "meta": {...}}

An entry is published atomically (built in a temporary folder, then renamed), one builder at a
time per entry (an exclusive ``flock`` on ``<kind>/.<key>.lock``: a second process, e.g. a parallel
test run, waits for the first and then opens its entry instead of repeating minutes of ceremony;
the kernel drops the lock when its holder dies), and every file's
SHA-256 is checked against the manifest when the entry is opened, so a truncated or tampered
artifact is refused (:class:`~fairgate.errors.ToolchainError`) instead of silently used.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from fairgate.errors import ToolchainError
from fairgate.settings import get_settings

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def key_of(*parts: str | bytes) -> str:
    """A cache key: SHA-256 over length-prefixed parts (no ambiguity between part boundaries)."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def cache_root() -> Path:
    """The cache folder (``FAIRGATE_ZK_CACHE_DIR``)."""
    return get_settings().zk_cache_dir


class Entry:
    """A verified cache entry: its folder, file names and metadata."""

    def __init__(self, folder: Path, files: dict[str, str], meta: dict[str, Any]) -> None:
        self.folder = folder
        self.files = files
        self.meta = meta

    def path(self, name: str) -> Path:
        """Absolute path of one of the entry's files."""
        if name not in self.files:
            raise ToolchainError(f"cache entry {self.folder.name} has no file {name}")
        return self.folder / name

    def __repr__(self) -> str:
        return f"Entry({self.folder}, files={sorted(self.files)})"


def open_entry(kind: str, key: str, *, check: bool = True) -> Entry | None:
    """The entry ``kind/key`` if it exists and its files match their hashes; else None.

    A corrupt entry (hash mismatch or missing file) is logged and moved aside, so it is rebuilt.
    """
    folder = cache_root() / kind / key
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return None
    try:
        data = json.loads(manifest.read_text())
        files: dict[str, str] = dict(data["files"])
        meta: dict[str, Any] = dict(data.get("meta", {}))
    except (ValueError, KeyError, TypeError):
        log.warning("cache entry %s/%s has an unreadable manifest; rebuilding", kind, key[:12])
        _discard(folder)
        return None
    if check:
        for name, expected in files.items():
            path = folder / name
            if not path.is_file() or sha256_file(path) != expected:
                log.warning(
                    "cache entry %s/%s: %s fails its hash; rebuilding", kind, key[:12], name
                )
                _discard(folder)
                return None
    return Entry(folder, files, meta)


def _discard(folder: Path) -> None:
    aside = folder.with_name(f"{folder.name}.bad-{os.getpid()}")
    try:
        folder.rename(aside)
        shutil.rmtree(aside, ignore_errors=True)
    except OSError:
        log.exception("could not discard cache entry %s", folder)


def build_entry(
    kind: str,
    key: str,
    builder: Callable[[Path], dict[str, Any]],
    *,
    keep: Iterable[str] | None = None,
) -> Entry:
    """Return entry ``kind/key``, building it with ``builder(tmp_folder) -> meta`` if missing.

    ``builder`` writes its files into the folder it is given; ``keep`` names the files to keep
    (default: every regular file it wrote). The entry is hashed, then renamed into place.
    """
    found = open_entry(kind, key)
    if found is not None:
        return found
    parent = cache_root() / kind
    parent.mkdir(parents=True, exist_ok=True)
    with exclusive(parent / f".{key}.lock", f"{kind}/{key[:12]}"):
        # Whoever held the lock before us may have built it meanwhile.
        found = open_entry(kind, key)
        if found is not None:
            return found
        return _build_unlocked(kind, key, parent, builder, keep)


@contextlib.contextmanager
def exclusive(lock_path: Path, what: str) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``lock_path`` (waiting, with a log line, if taken).

    Builders of one artifact in several processes take it so that only one of them works."""
    with lock_path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("cache entry %s is being built by another process; waiting for it", what)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build_unlocked(
    kind: str,
    key: str,
    parent: Path,
    builder: Callable[[Path], dict[str, Any]],
    keep: Iterable[str] | None,
) -> Entry:
    work = Path(tempfile.mkdtemp(prefix=f".{key[:12]}-", dir=parent))
    try:
        meta = builder(work)
        names = (
            sorted(keep)
            if keep is not None
            else sorted(p.name for p in work.iterdir() if p.is_file() and p.name != MANIFEST)
        )
        for extra in work.iterdir():
            if extra.name not in names:
                if extra.is_dir():
                    shutil.rmtree(extra)
                else:
                    extra.unlink()
        files = {name: sha256_file(work / name) for name in names}
        (work / MANIFEST).write_text(json.dumps({"files": files, "meta": meta}, indent=2))
        target = parent / key
        try:
            work.rename(target)
        except OSError:
            # Another process published the same entry first: use theirs if it is sound.
            found = open_entry(kind, key)
            if found is None:
                raise
            return found
        log.info("cached %s/%s (%s)", kind, key[:12], ", ".join(names))
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    entry = open_entry(kind, key)
    if entry is None:
        raise ToolchainError(f"cache entry {kind}/{key[:12]} vanished after it was built")
    return entry
