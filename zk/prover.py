"""Proving a gate check, in-process (the fan's device or a kiosk).

Fast path chosen after measuring here: groth16py 0.2.0 imports the ceremony's snarkjs zkey
(``import_zkey``) together with the circuit source, which it compiles in-process with the circom
compiler crates; ``groth16py.prove`` then computes the witness by running the circuit's wasm
under wasmi and proves with arkworks: ~0.43 s per proof, no Node, no process start. The imported
proving key is cached (``ProvingKey.save``) by the zkey's hash, so later processes load it in
~0.6 s instead of compiling again (~1.4 s).

Guard: groth16py compiles the circuit itself, so its witness layout must match the circom2
compile the zkey was made from. Every proof is therefore verified natively against the
ceremony's verification key before it is returned (1.5 ms); a mismatch raises
:class:`~fairgate.errors.ToolchainError` instead of handing out a proof the gate would refuse.
The snarkjs path (``snarkjs groth16 fullprove`` in one Node process) is the measured baseline in
``scripts/bench_zk.py``. Measured alternatives for the witness: groth16py's wasmi takes ~80 ms of
the ~450 ms (CPU); circom2's wasm under wasmtime 50.0.1 driven from Python took ~360 ms (one
Python-to-wasm call per witness word dominates; machine loaded), so it was not adopted.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import groth16py

from fairgate.errors import ProofError, ToolchainError
from fairgate.settings import get_settings
from zk import cache
from zk.field import element
from zk.identity import TicketSecret, check_scope
from zk.proof import GateProof, PublicSignals
from zk.setup import GATE_CIRCUIT, Artifacts, current_artifacts
from zk.tree import DEPTH, MerkleProof, root_from_path
from zk.verifier import GateVerifier

log = logging.getLogger(__name__)


@contextlib.contextmanager
def _quiet_fd1() -> Iterator[None]:
    """groth16py's in-process circom prints to file descriptor 1: send it to a temp file."""
    sys.stdout.flush()
    saved = os.dup(1)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 1)
        try:
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            sink.seek(0)
            log.debug("circom (groth16py): %s", sink.read()[-2000:].decode("utf-8", "replace"))


def _proving_key(artifacts: Artifacts) -> Any:
    """The groth16py proving key for the artifacts' zkey, from the cache or imported once."""
    key = cache.key_of("groth16py-pk", groth16py.__version__, artifacts.key)

    def build(work: Path) -> dict[str, Any]:
        with _quiet_fd1():
            pk, _vk = groth16py.import_zkey(
                str(artifacts.zkey), str(GATE_CIRCUIT), [str(get_settings().node_modules)]
            )
        pk.save(str(work / "pk.bin"))
        return {"zkey": artifacts.key}

    try:
        entry = cache.build_entry("provingkey", key, build)
        return groth16py.ProvingKey.load(str(entry.path("pk.bin")))
    except (groth16py.SetupError, groth16py.EncodingError, ValueError) as exc:
        raise ToolchainError(f"groth16py could not import the zkey: {exc}") from None


class GateProver:
    """A warm prover for the installed setup."""

    def __init__(self, artifacts: Artifacts | None = None) -> None:
        self.artifacts = artifacts or current_artifacts()
        self._pk = _proving_key(self.artifacts)
        self._verifier = GateVerifier(self.artifacts.vkey)

    def inputs(
        self, secret: TicketSecret, path: MerkleProof, scope: int, challenge: int
    ) -> dict[str, Any]:
        """The circuit's input signals (contains the secret: never log it)."""
        check_scope(scope)
        element(challenge, "challenge")
        element(path.root, "root")
        if len(path.siblings) != DEPTH:
            raise ProofError(f"a Merkle path has {DEPTH} siblings")
        if secret.commitment() != path.leaf:
            raise ProofError("this secret is not the ticket's current commitment")
        if root_from_path(path.leaf, path.index, path.siblings) != path.root:
            raise ProofError("the Merkle path does not lead to its root")
        return {
            "root": path.root,
            "scope": scope,
            "challenge": challenge,
            "secret": secret.reveal(),
            "leafIndex": path.index,
            "siblings": list(path.siblings),
        }

    def prove(
        self, secret: TicketSecret, path: MerkleProof, scope: int, challenge: int
    ) -> GateProof:
        """Prove "I hold the secret of leaf ``path.index`` of ``path.root``" for the gate."""
        inputs = self.inputs(secret, path, scope, challenge)
        try:
            blob = groth16py.prove(self._pk, inputs)
        except (groth16py.WitnessError, ValueError) as exc:
            raise ProofError(f"the witness could not be computed: {type(exc).__name__}") from None
        public = PublicSignals(
            nullifier=secret.nullifier(scope), root=path.root, scope=scope, challenge=challenge
        )
        proof = GateProof(proof=bytes(blob), public=public)
        if not self._verifier.verify(proof):
            raise ToolchainError("groth16py produced a proof the ceremony's key refuses")
        return proof
