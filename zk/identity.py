"""Ticket identity: the holder's secret, its commitment (the tree leaf) and its nullifier.

Definitions (fixed with the contracts and the circuit ``zk/circuits/gate.circom``)::

    scope      = uint256(keccak256(abi.encodePacked(uint256 chainId, address event))) >> 8
    commitment = Poseidon(secret, COMMIT_DOMAIN)      COMMIT_DOMAIN = 2^248
    nullifier  = Poseidon(secret, scope)
    window     = floor(unix time / WINDOW_S)                           WINDOW_S = 20
    challenge  = uint256(keccak256(abi.encodePacked("fairgate/window/v1", uint256 scope,
                                                    uint64 window))) >> 8

The window challenge is the rotating code a fan's phone shows without scanning anything at the
gate (as a SafeTix barcode rotates): a proof made for window ``w`` answers the challenge of ``w``,
so a screenshot of it is refused once ``w`` is past the verifier's tolerance. Gates, the contract
and the browser derive it with this one formula; like a scope it is below 2^248, a field element.

Domain separation: a scope is at most 248 bits (``>> 8`` of a 256-bit hash, and the circuit
range-checks it), so it is never equal to ``COMMIT_DOMAIN = 2^248``; a nullifier and a commitment
are therefore hashes of different input pairs, even for scope 0, with no assumption on the hash.

Secrets: one per ticket, never reused, ``1 <= secret < p``. Either drawn from the OS CSPRNG
(:meth:`TicketSecret.generate`) or derived from a wallet signature so it can be recovered on any
device (:func:`wallet_seed`, :meth:`TicketSecret.derive`): the wallet signs the fixed EIP-191
message :data:`SEED_MESSAGE` (``personal_sign``; eth-account signs deterministically, RFC 6979),
the 65-byte signature is checked to come from the holder's address, and

    seed             = keccak256(signature)
    secret(scope, n) = int(SHA-512("fairgate/ticket-secret/v1" || seed || scope || n)) mod p

(512 bits reduced mod p: negligible bias; a zero result moves to the next counter). ``n`` is the
holder's ticket counter within the event (0, 1, 2, ...), chosen before minting. Recovery signs
again and scans counters until the commitments found on-chain are matched
(:func:`recover_secrets`). Caveats, documented for wallets: a wallet that signs with random
nonces cannot recover (its signature changes), and any site that obtains this signature can
derive the secrets, so wallets should show the message's warning text.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_hash.auto import keccak
from eth_utils.address import is_address, to_canonical_address, to_checksum_address

from fairgate.errors import ProofError
from zk.field import P, element, nonzero_element
from zk.poseidon import hash2

COMMIT_DOMAIN = 1 << 248
SCOPE_BITS = 248
WINDOW_S = 20
WINDOW_DOMAIN = b"fairgate/window/v1"
SECRET_KDF_DOMAIN = b"fairgate/ticket-secret/v1"
SEED_MESSAGE = (
    "Fairgate ticket key\n\n"
    "Sign this message to create or recover the secrets of your Fairgate tickets.\n"
    "Only sign it in the Fairgate app: whoever holds this signature can enter with your tickets.\n"
    "It costs nothing and cannot move your funds.\n\n"
    "Version: 1"
)


def gate_scope(chain_id: int, address: str) -> int:
    """``uint256(keccak256(abi.encodePacked(uint256 chainId, address))) >> 8`` (fits the field)."""
    if not isinstance(chain_id, int) or isinstance(chain_id, bool) or not 0 <= chain_id < 2**256:
        raise ProofError("chain_id must be a uint256")
    if not isinstance(address, str) or not is_address(address):
        raise ProofError("event address is not an Ethereum address")
    packed = chain_id.to_bytes(32, "big") + to_canonical_address(address)
    return int.from_bytes(keccak(packed), "big") >> 8


def check_scope(scope: int) -> int:
    """``scope`` if it is a valid scope (< 2^248, the circuit's range check); ProofError else."""
    element(scope, "scope")
    if scope >> SCOPE_BITS:
        raise ProofError("scope must be below 2^248", field="scope")
    return scope


def time_window(unix_time: float, *, window_s: int = WINDOW_S) -> int:
    """The number of the rotating-challenge window that ``unix_time`` falls in."""
    if unix_time < 0:
        raise ProofError("time must not be before 1970")
    return int(unix_time // window_s)


def window_challenge(scope: int, window: int) -> int:
    """The rotating gate challenge of ``window`` in ``scope`` (see the module docstring)."""
    check_scope(scope)
    if not isinstance(window, int) or isinstance(window, bool) or not 0 <= window < 2**64:
        raise ProofError("window must be a uint64")
    packed = WINDOW_DOMAIN + scope.to_bytes(32, "big") + window.to_bytes(8, "big")
    return int.from_bytes(keccak(packed), "big") >> 8


class TicketSecret:
    """A ticket's secret. Its ``repr``/``str`` never show the value; use :meth:`reveal` to get it.

    Equality is constant-time; instances are not hashable (keep them out of sets and dict keys
    that might be logged).
    """

    __slots__ = ("_value",)
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, value: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < P:
            raise ProofError("a ticket secret must be a non-zero field element")
        self._value = value

    @classmethod
    def generate(cls) -> TicketSecret:
        """A fresh secret from the OS CSPRNG, uniform in ``[1, p)``."""
        return cls(secrets.randbelow(P - 1) + 1)

    @classmethod
    def derive(cls, seed: bytes, scope: int, counter: int) -> TicketSecret:
        """The recoverable secret number ``counter`` of an event, from a wallet seed."""
        if len(seed) != 32:
            raise ProofError("a wallet seed is 32 bytes")
        check_scope(scope)
        if not isinstance(counter, int) or not 0 <= counter < 2**32:
            raise ProofError("the ticket counter must be in [0, 2^32)")
        attempt = 0
        while True:
            data = SECRET_KDF_DOMAIN + seed + scope.to_bytes(32, "big")
            data += counter.to_bytes(4, "big") + attempt.to_bytes(4, "big")
            value = int.from_bytes(hashlib.sha512(data).digest(), "big") % P
            if value:
                return cls(value)
            attempt += 1  # probability 2^-254

    @classmethod
    def from_bytes(cls, data: bytes) -> TicketSecret:
        """Decode 32 big-endian bytes (a device's stored secret)."""
        if len(data) != 32:
            raise ProofError("a ticket secret is 32 bytes")
        return cls(int.from_bytes(data, "big"))

    def to_bytes(self) -> bytes:
        """32 big-endian bytes, for the device's secure storage only."""
        return self._value.to_bytes(32, "big")

    def reveal(self) -> int:
        """The secret as an int (for the prover)."""
        return self._value

    def commitment(self) -> int:
        """The tree leaf: ``Poseidon(secret, 2^248)``."""
        return commitment(self)

    def nullifier(self, scope: int) -> int:
        """The ticket's nullifier in ``scope``: ``Poseidon(secret, scope)``."""
        return nullifier(self, scope)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TicketSecret):
            return NotImplemented
        return hmac.compare_digest(self.to_bytes(), other.to_bytes())

    def __repr__(self) -> str:
        return "TicketSecret(<redacted>)"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("TicketSecret is not picklable")


def commitment(secret: TicketSecret) -> int:
    """``Poseidon(secret, COMMIT_DOMAIN)``: non-zero and below p (checked)."""
    value = hash2(secret.reveal(), COMMIT_DOMAIN)
    return nonzero_element(value, "commitment")


def nullifier(secret: TicketSecret, scope: int) -> int:
    """``Poseidon(secret, scope)``."""
    return hash2(secret.reveal(), check_scope(scope))


def commitment_bytes32(value: int) -> bytes:
    """A commitment as the contracts take it: ``bytes32``, big-endian, non-zero, below p."""
    return nonzero_element(value, "commitment").to_bytes(32, "big")


def seed_message() -> Any:
    """The EIP-191 ``personal_sign`` message to sign (an eth-account ``SignableMessage``)."""
    return encode_defunct(text=SEED_MESSAGE)


def wallet_seed(signature: bytes, holder: str) -> bytes:
    """The 32-byte seed from the holder's signature of :data:`SEED_MESSAGE`.

    The signature must recover to ``holder``; otherwise ProofError (a wrong signature would
    silently derive secrets that match nothing).
    """
    if len(signature) != 65:
        raise ProofError("a wallet signature is 65 bytes")
    if not is_address(holder):
        raise ProofError("holder is not an Ethereum address")
    try:
        signer = Account.recover_message(seed_message(), signature=signature)
    except Exception:  # eth-keys raises several types for malformed signatures
        raise ProofError("the wallet signature is malformed") from None
    if signer != to_checksum_address(holder):
        raise ProofError("the signature was not made by the holder's wallet")
    return keccak(signature)


def seed_from_account(account: Any) -> bytes:
    """Sign :data:`SEED_MESSAGE` with an eth-account ``LocalAccount`` and return its seed."""
    signed = account.sign_message(seed_message())
    return wallet_seed(bytes(signed.signature), account.address)


def recover_secrets(
    seed: bytes, scope: int, commitments: Iterable[int], *, max_counter: int = 256
) -> dict[int, TicketSecret]:
    """Find which on-chain commitments this seed made: ``{commitment: secret}``.

    Scans counters ``0..max_counter-1`` (a holder's tickets in one event are numbered from 0).
    """
    wanted = set(commitments)
    found: dict[int, TicketSecret] = {}
    for counter in range(max_counter):
        secret = TicketSecret.derive(seed, scope, counter)
        value = secret.commitment()
        if value in wanted:
            found[value] = secret
            if len(found) == len(wanted):
                break
    return found
