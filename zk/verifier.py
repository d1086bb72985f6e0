"""Native Groth16 verification of gate proofs, kept warm in-process.

Choice: groth16py 0.2.0 (arkworks, a prepared verifier: the ``e(alpha, beta)`` pairing and the
G2 points are prepared once). Measured here: 1.5-1.9 ms per verify on one core, about 1,300 per
second with two threads (it releases the GIL). mclbn256 1.3.5 verified in 1.8-2.4 ms in the
toolchain notes but only after re-initialising MCL to alt_bn128 (process-global state, shared
with anything else using MCL) and needs our own pairing equation code; py_ecc takes ~0.9 s. So
groth16py: no Node, no process start, and snarkjs's own JSON and Ethereum encodings.

Refusals (return False, never raise, for any proof bytes): a public signal at or above the
scalar field modulus (checked before the library, which would raise), a coordinate at or above
the base field modulus, a point off the curve, a failed pairing check.

:meth:`GateVerifier.check` adds the gate's policy: the proof's scope must be the event's, the
challenge the one the gate issued, the root one the gate accepts (published, or replaced within
the grace window). A wrong Merkle path is a valid proof *for another root*, so the root check is
what makes membership mean anything.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import groth16py

from fairgate.errors import ProofError
from zk.field import P
from zk.proof import N_PUBLIC, GateProof

log = logging.getLogger(__name__)


def new_challenge() -> int:
    """A fresh gate challenge: uniform in the field, from the OS CSPRNG (non-zero)."""
    return secrets.randbelow(P - 1) + 1


class GateVerifier:
    """A warm verifier for one verification key (snarkjs ``verification_key.json``)."""

    def __init__(self, vkey: dict[str, Any] | Path) -> None:
        text = vkey.read_text() if isinstance(vkey, Path) else json.dumps(vkey)
        try:
            key = groth16py.VerifyingKey.from_snarkjs(text)
        except groth16py.EncodingError as exc:
            raise ProofError(f"unusable verification key: {exc}") from None
        if key.n_public != N_PUBLIC:
            raise ProofError(f"verification key has {key.n_public} public inputs, not {N_PUBLIC}")
        self._verifier = groth16py.Verifier(key)
        self._pool: ThreadPoolExecutor | None = None

    @classmethod
    def current(cls) -> GateVerifier:
        """The verifier of the installed setup (runs the cached dev setup if none)."""
        from zk.setup import current_artifacts

        return cls(current_artifacts().vkey)

    def verify(self, proof: GateProof) -> bool:
        """True iff the proof is valid for its public signals."""
        if not proof.public.in_field() or not proof.coordinates_in_field():
            return False
        try:
            return bool(self._verifier.verify(proof.proof, proof.public.as_list()))
        except (groth16py.EncodingError, groth16py.VerificationError, ValueError):
            return False

    def verify_many(self, proofs: Sequence[GateProof]) -> list[bool]:
        """Verify several proofs on two threads (throughput when a queue builds up)."""
        if len(proofs) < 4:
            return [self.verify(p) for p in proofs]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="zk-verify")
        return list(self._pool.map(self.verify, proofs))

    def check(
        self,
        proof: GateProof,
        *,
        scope: int,
        challenge: int,
        roots: Collection[int],
    ) -> int:
        """The gate's full check; returns the nullifier, or raises ProofError with the reason.

        ``roots`` are the roots the gate accepts now (current and recent within the grace
        window). Nullifier reuse is checked by the gate's store, not here.
        """
        public = proof.public
        if not public.in_field():
            raise ProofError("a public signal is outside the field")
        if public.scope != scope:
            raise ProofError("proof is for another event")
        if public.challenge != challenge:
            raise ProofError("proof answers another challenge")
        if public.root not in roots:
            raise ProofError("proof is for a tree root this gate does not accept")
        if not self.verify(proof):
            raise ProofError("invalid proof")
        return public.nullifier

    def close(self) -> None:
        """Stop the worker threads, if any."""
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None
