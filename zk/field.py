"""The BN254 scalar field (the field of circom signals and Groth16 public inputs).

Every value that enters a hash, a circuit input, a public signal or a payload goes through
:func:`element` (or :func:`from_bytes32`): a value at or above the modulus is refused, never
reduced, because ``x`` and ``x + p`` would otherwise be two encodings of one field element
(a classic malleability bug: light-poseidon-python, for one, reduces silently).
"""

from __future__ import annotations

from fairgate.errors import ProofError

P = 21888242871839275222246405745257275088548364400416034343698204186575808495617
"""The BN254 (alt_bn128) scalar field modulus."""

FIELD_BYTES = 32


def is_element(value: object) -> bool:
    """True if ``value`` is an int (not a bool) with ``0 <= value < P``."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < P


def element(value: int, what: str = "value") -> int:
    """``value`` if it is a canonical field element; ProofError otherwise (no reduction)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ProofError(f"{what} must be an integer", field=what)
    if not 0 <= value < P:
        raise ProofError(f"{what} is outside the BN254 scalar field", field=what)
    return value


def nonzero_element(value: int, what: str = "value") -> int:
    """A canonical field element other than 0."""
    if element(value, what) == 0:
        raise ProofError(f"{what} must not be zero", field=what)
    return value


def to_bytes32(value: int) -> bytes:
    """Big-endian 32 bytes (the EVM's ``bytes32``/``uint256`` layout) of a field element."""
    return element(value).to_bytes(FIELD_BYTES, "big")


def from_bytes32(data: bytes, what: str = "value") -> int:
    """The field element of a big-endian 32-byte value; ProofError unless canonical."""
    if len(data) != FIELD_BYTES:
        raise ProofError(f"{what} must be 32 bytes", field=what)
    return element(int.from_bytes(data, "big"), what)


def from_hex(text: str, what: str = "value") -> int:
    """A field element from ``0x``-prefixed hex (as web3 renders ``bytes32``); ProofError if bad."""
    if not isinstance(text, str) or not text.startswith(("0x", "0X")) or len(text) > 66:
        raise ProofError(f"{what} must be 0x-prefixed hex of at most 32 bytes", field=what)
    try:
        value = int(text[2:] or "0", 16)
    except ValueError:
        raise ProofError(f"{what} is not hex", field=what) from None
    return element(value, what)


def from_decimal(text: str, what: str = "value") -> int:
    """A field element from a decimal string (snarkjs's JSON encoding); strict: digits only."""
    if not isinstance(text, str) or not text.isascii() or not text.isdigit() or len(text) > 78:
        raise ProofError(f"{what} must be a decimal string", field=what)
    if len(text) > 1 and text[0] == "0":
        raise ProofError(f"{what} has leading zeros", field=what)
    return element(int(text), what)
