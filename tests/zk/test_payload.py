"""The QR payload: round trip, size, images, and strict refusal of malformed input."""

from __future__ import annotations

import dataclasses

import pytest

from fairgate.errors import ProofError
from zk import payload
from zk.field import P
from zk.proof import GateProof, Q
from zk.prover import GateProver

from .conftest import Event


@pytest.fixture(scope="module")
def proof(prover: GateProver, scope: int) -> GateProof:
    event = Event(2)
    return prover.prove(event.secrets[1], event.tree.proof(1), scope, challenge=2**200 + 1)


def test_round_trip_and_size(proof: GateProof) -> None:
    text = payload.encode(proof)
    assert text.startswith("FG1:") and len(text) == payload.MAX_TEXT
    assert set(text[4:]) <= set(payload.ALPHABET)
    assert payload.decode(text) == proof
    assert payload.decode(text.encode()) == proof
    assert payload.qr_version(proof) <= 17


def test_images(proof: GateProof) -> None:
    png = payload.qr_png(proof)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    art = payload.qr_terminal(proof)
    assert "█" in art and len(art.splitlines()) > 20


def _with_body(body: bytes) -> str:
    return payload.PREFIX + payload.b45encode(body)


def _body(proof: GateProof) -> bytes:
    return payload.b45decode(payload.encode(proof)[4:])


@pytest.mark.parametrize(
    "text",
    [
        "",
        "FG1:",
        "FG2:" + "0" * 576,
        "fg1:" + "0" * 576,
        "FG1:" + "0" * 577,  # one extra character: a truncated group
        "FG1:" + "0" * 579,  # too long
        "FG1:" + "a" * 576,  # lowercase is outside base45
        "FG1:" + "GGW" * 192,  # 'GGW' = 16+16*45+32*2025 = 65536: above a 2-byte group
        "FG1:" + "000" * 191,  # too short
        "FG1:" + "\u00e9" * 576,
    ],
)
def test_malformed_text_is_refused(text: str) -> None:
    with pytest.raises(ProofError):
        payload.decode(text)


def test_out_of_field_values_are_refused(proof: GateProof) -> None:
    body = bytearray(_body(proof))
    for offset in (256, 288, 320, 352):  # each public signal set to p
        bad = bytearray(body)
        bad[offset : offset + 32] = P.to_bytes(32, "big")
        with pytest.raises(ProofError):
            payload.decode(_with_body(bytes(bad)))
    bad = bytearray(body)
    bad[0:32] = Q.to_bytes(32, "big")  # a coordinate equal to the base field modulus
    with pytest.raises(ProofError):
        payload.decode(_with_body(bytes(bad)))
    with pytest.raises(ProofError):
        payload.decode(b"\xff\xfe")


def test_decoded_garbage_never_verifies(proof: GateProof, prover: GateProver) -> None:
    from zk.verifier import GateVerifier

    verifier = GateVerifier(prover.artifacts.vkey)
    body = bytearray(_body(proof))
    body[40] ^= 0xFF
    decoded = payload.decode(_with_body(bytes(body)))  # well-formed bytes, wrong point
    assert not verifier.verify(decoded)
    assert not verifier.verify(dataclasses.replace(decoded, proof=bytes(256)))
