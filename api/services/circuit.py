"""The gate circuit's files for browsers: exactly the wasm and zkey of the installed setup.

The gates verify with the verification key of :func:`zk.setup.current_artifacts`; a browser must
prove with the zkey of that same setup (the development ceremony uses fresh randomness, so any
other zkey makes proofs every gate refuses). The bridge therefore serves the files of that one
cache entry, named by their SHA-256: the page fetches ``/zk/gate-circuit`` (the hashes), then
``/zk/files/<sha256>`` once, checks the hash itself, and caches the bytes (an immutable URL).

A request never builds the set-up (a compile and a ceremony take minutes of CPU): the bridge
serves what the set-up (``make setup``) built, through :func:`zk.setup.installed_setup`, and
answers 503 naming the missing step until then. The files are found and hashed once per process;
a set-up rebuilt while the bridge runs is served after its restart (the gates, which verify with
its key, are restarted with it).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from fairgate.errors import NotFound
from zk.cache import sha256_file
from zk.setup import installed_setup

__all__ = ["CircuitFile", "GateCircuit", "file_by_hash", "gate_circuit"]


@dataclass(frozen=True)
class CircuitFile:
    kind: str  # wasm | zkey | vkey
    path: Path
    sha256: str
    size: int
    media_type: str


@dataclass(frozen=True)
class GateCircuit:
    wasm: CircuitFile
    zkey: CircuitFile
    vkey: CircuitFile

    def files(self) -> tuple[CircuitFile, ...]:
        return (self.wasm, self.zkey, self.vkey)


_lock = threading.Lock()
_served: list[GateCircuit] = []  # at most one: what this process serves


def _file(kind: str, path: Path, media_type: str) -> CircuitFile:
    return CircuitFile(kind, path, sha256_file(path), path.stat().st_size, media_type)


def gate_circuit() -> GateCircuit:
    """The installed set-up's files with their hashes; :class:`zk.setup.SetupNotInstalled`
    (503, naming the step to run) when the set-up has not built them."""
    with _lock:
        if not _served:
            artifacts = installed_setup()
            _served.append(
                GateCircuit(
                    wasm=_file("wasm", artifacts.circuit.wasm, "application/wasm"),
                    zkey=_file("zkey", artifacts.zkey, "application/octet-stream"),
                    vkey=_file("vkey", artifacts.vkey, "application/json"),
                )
            )
        return _served[0]


def file_by_hash(sha256: str) -> CircuitFile:
    """The served file whose SHA-256 is ``sha256`` (hex); NotFound for any other."""
    for f in gate_circuit().files():
        if f.sha256 == sha256.lower():
            return f
    raise NotFound("no circuit file has this hash (the gate setup may have changed)")
