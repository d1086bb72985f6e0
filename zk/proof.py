"""A gate proof: the Groth16 proof and its four public signals, plus the snarkjs JSON forms.

The proof is kept as the 256-byte Ethereum encoding (eight big-endian uint256 words, the
Solidity verifier's ``verifyProof(a, b, c, input)`` argument order)::

    a.x, a.y, b.x1, b.x0, b.y1, b.y0, c.x, c.y

(``b`` has each Fp2 coordinate's two halves in the EVM precompile's order: imaginary first.)
Public signals are, in snarkjs's ``publicSignals`` order: ``[nullifier, root, scope, challenge]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fairgate.errors import ProofError
from zk.field import element, from_decimal

Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583
"""The BN254 base field modulus (curve point coordinates)."""

PROOF_BYTES = 256
N_PUBLIC = 4


@dataclass(frozen=True)
class PublicSignals:
    """The circuit's public signals, in snarkjs order."""

    nullifier: int
    root: int
    scope: int
    challenge: int

    def as_list(self) -> list[int]:
        """``[nullifier, root, scope, challenge]``."""
        return [self.nullifier, self.root, self.scope, self.challenge]

    def in_field(self) -> bool:
        """True if every signal is a canonical field element (verifiers refuse the rest)."""
        try:
            for value in self.as_list():
                element(value)
        except ProofError:
            return False
        return True

    @classmethod
    def from_snarkjs(cls, public: list[str]) -> PublicSignals:
        """From snarkjs's ``public.json`` list of decimal strings (strict)."""
        if not isinstance(public, list) or len(public) != N_PUBLIC:
            raise ProofError(f"expected {N_PUBLIC} public signals")
        values = [from_decimal(x, "public signal") for x in public]
        return cls(*values)


@dataclass(frozen=True)
class GateProof:
    """A Groth16 proof (Ethereum encoding) with its public signals."""

    proof: bytes
    public: PublicSignals

    def __post_init__(self) -> None:
        if len(self.proof) != PROOF_BYTES:
            raise ProofError(f"a proof is {PROOF_BYTES} bytes")

    def words(self) -> list[int]:
        """The eight uint256 words of the proof."""
        return [int.from_bytes(self.proof[i : i + 32], "big") for i in range(0, PROOF_BYTES, 32)]

    def coordinates_in_field(self) -> bool:
        """True if every coordinate is below the base field modulus."""
        return all(w < Q for w in self.words())

    def solidity_args(self) -> tuple[list[int], list[list[int]], list[int], list[int]]:
        """``(a, b, c, input)`` for the snarkjs Solidity verifier's ``verifyProof``."""
        w = self.words()
        return [w[0], w[1]], [[w[2], w[3]], [w[4], w[5]]], [w[6], w[7]], self.public.as_list()

    def to_snarkjs(self) -> tuple[dict[str, Any], list[str]]:
        """``(proof.json, public.json)`` as snarkjs writes them."""
        w = self.words()
        proof = {
            "pi_a": [str(w[0]), str(w[1]), "1"],
            "pi_b": [[str(w[3]), str(w[2])], [str(w[5]), str(w[4])], ["1", "0"]],
            "pi_c": [str(w[6]), str(w[7]), "1"],
            "protocol": "groth16",
            "curve": "bn128",
        }
        return proof, [str(x) for x in self.public.as_list()]

    @classmethod
    def from_snarkjs(cls, proof: dict[str, Any], public: list[str]) -> GateProof:
        """From snarkjs's ``proof.json`` and ``public.json`` (affine points, strict)."""
        try:
            a, b, c = proof["pi_a"], proof["pi_b"], proof["pi_c"]
            if proof.get("protocol", "groth16") != "groth16":
                raise ProofError("not a Groth16 proof")
            if a[2] != "1" or c[2] != "1" or b[2] != ["1", "0"]:
                raise ProofError("proof points must be affine")
            words = [a[0], a[1], b[0][1], b[0][0], b[1][1], b[1][0], c[0], c[1]]
            ints = [_coordinate(x) for x in words]
        except (KeyError, IndexError, TypeError):
            raise ProofError("malformed snarkjs proof") from None
        data = b"".join(x.to_bytes(32, "big") for x in ints)
        return cls(proof=data, public=PublicSignals.from_snarkjs(public))


def _coordinate(text: Any) -> int:
    if not isinstance(text, str) or not text.isascii() or not text.isdigit() or len(text) > 78:
        raise ProofError("a proof coordinate must be a decimal string")
    value = int(text)
    if value >= Q:
        raise ProofError("a proof coordinate is outside the base field")
    return value
