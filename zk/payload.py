"""The gate proof as a QR code: a compact, versioned text payload and strict decoding.

Format (v1): ``"FG1:" + base45(body)``, where ``body`` is 384 bytes::

    proof (256, Ethereum encoding, see zk.proof) | nullifier | root | scope | challenge (32 each)

Base45 (RFC 9285) uses only QR "alphanumeric" characters, so the code is ~25% smaller than
binary-mode base64 and survives scanners that treat codes as text: 4 + 576 characters, QR
version 17 at error correction level M.

:func:`decode` refuses anything but exactly that: wrong prefix, characters outside the
alphabet, a base45 group above its range, a wrong length, a public signal at or above the
scalar field modulus, a coordinate at or above the base field modulus. It never raises anything
but :class:`~fairgate.errors.ProofError`.
"""

from __future__ import annotations

import io
from typing import Literal

import qrcode
import qrcode.constants

from fairgate.errors import ProofError
from zk.field import from_bytes32
from zk.proof import PROOF_BYTES, GateProof, PublicSignals, Q

PREFIX = "FG1:"
BODY_BYTES = PROOF_BYTES + 4 * 32
MAX_TEXT = len(PREFIX) + BODY_BYTES // 2 * 3
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_INDEX = {c: i for i, c in enumerate(ALPHABET)}


def b45encode(data: bytes) -> str:
    """RFC 9285 base45."""
    out = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        c, n = n % 45, n // 45
        d, e = n % 45, n // 45
        out += [ALPHABET[c], ALPHABET[d], ALPHABET[e]]
    if len(data) % 2:
        n = data[-1]
        out += [ALPHABET[n % 45], ALPHABET[n // 45]]
    return "".join(out)


def b45decode(text: str) -> bytes:
    """RFC 9285 base45, strict (ProofError on any invalid input)."""
    if len(text) % 3 == 1:
        raise ProofError("payload has a truncated base45 group")
    try:
        values = [_INDEX[c] for c in text]
    except KeyError:
        raise ProofError("payload has a character outside base45") from None
    out = bytearray()
    for i in range(0, len(values), 3):
        group = values[i : i + 3]
        if len(group) == 3:
            n = group[0] + group[1] * 45 + group[2] * 45 * 45
            if n > 0xFFFF:
                raise ProofError("payload has an out-of-range base45 group")
            out += n.to_bytes(2, "big")
        else:
            n = group[0] + group[1] * 45
            if n > 0xFF:
                raise ProofError("payload has an out-of-range base45 group")
            out.append(n)
    return bytes(out)


def encode(proof: GateProof) -> str:
    """The QR text of a proof."""
    pub = proof.public
    body = proof.proof + b"".join(
        x.to_bytes(32, "big") for x in (pub.nullifier, pub.root, pub.scope, pub.challenge)
    )
    return PREFIX + b45encode(body)


def decode(text: str | bytes) -> GateProof:
    """Parse a scanned payload; ProofError on anything malformed (see the module docs)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            raise ProofError("payload is not ASCII") from None
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        raise ProofError("payload has the wrong size")
    if not text.startswith(PREFIX):
        raise ProofError("not a Fairgate v1 gate payload")
    body = b45decode(text[len(PREFIX) :])
    if len(body) != BODY_BYTES:
        raise ProofError("payload has the wrong size")
    proof = body[:PROOF_BYTES]
    if any(int.from_bytes(proof[i : i + 32], "big") >= Q for i in range(0, PROOF_BYTES, 32)):
        raise ProofError("payload has a proof coordinate outside the base field")
    words = [body[PROOF_BYTES + 32 * i : PROOF_BYTES + 32 * (i + 1)] for i in range(4)]
    names = ("nullifier", "root", "scope", "challenge")
    values = [from_bytes32(w, name) for w, name in zip(words, names, strict=True)]
    return GateProof(proof=proof, public=PublicSignals(*values))


def _qr(text: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(text)  # all characters are alphanumeric: qrcode picks that mode
    code.make(fit=True)
    return code


def qr_png(proof: GateProof, *, box_size: int = 6) -> bytes:
    """A PNG image of the proof's QR code."""
    code = _qr(encode(proof))
    code.box_size = box_size
    image = code.make_image()
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def qr_terminal(proof: GateProof, *, invert: bool = False) -> str:
    """The QR code drawn with Unicode half blocks, for a terminal."""
    matrix = _qr(encode(proof)).get_matrix()
    dark: Literal[True, False] = not invert
    lines = []
    for y in range(0, len(matrix), 2):
        top = matrix[y]
        bottom = matrix[y + 1] if y + 1 < len(matrix) else [False] * len(top)
        row = []
        for a, b in zip(top, bottom, strict=True):
            a_dark, b_dark = a == dark, b == dark
            row.append("█" if a_dark and b_dark else "▀" if a_dark else "▄" if b_dark else " ")
        lines.append("".join(row))
    return "\n".join(lines)


def qr_version(proof: GateProof) -> int:
    """The QR version (size) the payload needs at error correction level M."""
    version: int = _qr(encode(proof)).version
    return version
