"""A warm snarkjs Node process (``zk/node/snarkjs_worker.js``), driven with JSON lines.

Used as the reference implementation in the tests (snarkjs's own verifier, circom's own wasm
witness, circomlibjs's Poseidon) and as the same-run baseline of ``scripts/bench_zk.py``. The
product's prover and verifier do not need Node (see :mod:`zk.prover`, :mod:`zk.verifier`).
"""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from fairgate.errors import ToolchainError
from fairgate.settings import PROJECT_ROOT
from zk.toolchain import node_executable

WORKER = Path(__file__).resolve().parent / "node" / "snarkjs_worker.js"


class SnarkjsNode:
    """One Node process with snarkjs loaded; ``call`` sends a command and waits for its answer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc = subprocess.Popen(
            [node_executable(), str(WORKER)],
            cwd=PROJECT_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )

    def call(self, cmd: str, **args: Any) -> dict[str, Any]:
        """Run one command; ToolchainError if the worker fails or answers an error."""
        with self._lock:
            if self._proc.stdin is None or self._proc.stdout is None:
                raise ToolchainError("snarkjs worker is closed")
            try:
                self._proc.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
                self._proc.stdin.flush()
                line = self._proc.stdout.readline()
            except (BrokenPipeError, OSError) as exc:
                raise ToolchainError(f"snarkjs worker died: {exc}") from None
        if not line:
            raise ToolchainError("snarkjs worker exited")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise ToolchainError(f"snarkjs worker: {answer['error']}")
        return answer

    def verify(self, vkey: dict[str, Any], proof: dict[str, Any], public: list[str]) -> bool:
        """snarkjs's ``groth16.verify``."""
        return bool(self.call("verify", vkey=vkey, proof=proof, public=public)["ok"])

    def close(self) -> None:
        """End the worker (closing stdin lets it exit on its own)."""
        if self._proc.stdin is not None and not self._proc.stdin.closed:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def __enter__(self) -> SnarkjsNode:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
