"""Plain helpers of the contract tests: constants, commitments, custom-error assertions, EIP-712
sell orders, time travel and the Python model of ResaleMath.

Fixtures live in conftest.py; everything here is importable by test modules and by the
hypothesis state machine alike.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import brownie
import eth_abi
from brownie.exceptions import VirtualMachineError
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data
from eth_utils import keccak

# BN254 scalar field: commitments, roots and nullifiers must be non-zero elements below it.
FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617
BPS = 10_000

MARKET_ONLY, FREE, LOCKED = 0, 1, 2
POLICY_IDS = {MARKET_ONLY: "market_only", FREE: "free", LOCKED: "locked"}

ROLE_ORGANIZER, ROLE_MINTER, ROLE_GATE = 0, 1, 2

ZERO_ADDRESS = "0x" + "00" * 20
ZERO_BYTES32 = "0x" + "00" * 32

HOUR = 3600
DAY = 24 * HOUR
ETHER = 10**18

# ----------------------------------------------------------------------------- values


def bytes32(value: int) -> str:
    """A uint256 as the 0x-hex bytes32 brownie accepts."""
    return "0x" + value.to_bytes(32, "big").hex()


_seeds = itertools.count(1)


def commitment(seed: int | None = None) -> str:
    """A valid holder commitment (non-zero, below FIELD); fresh and unique unless seeded."""
    if seed is None:
        seed = next(_seeds)
    value = int.from_bytes(keccak(text=f"fairgate commitment {seed}"), "big") % FIELD
    return bytes32(value or 1)


def commitments(n: int) -> list[str]:
    return [commitment() for _ in range(n)]


def order_ref(label: str | int | None = None) -> str:
    """A bridge order reference (bytes32), unique unless labelled."""
    if label is None:
        label = f"auto-{next(_seeds)}"
    return "0x" + keccak(text=f"fairgate order {label}").hex()


def as_bytes32_hex(value: Any) -> str:
    """Normalise what brownie returns for a bytes32 (HexString/bytes) to 0x-lowercase hex."""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    text = str(value).lower()
    return text if text.startswith("0x") else "0x" + text


# ----------------------------------------------------------------------------- custom errors

_error_types: dict[str, list[str]] = {}
_error_by_selector: dict[str, tuple[str, list[str]]] = {}


def _load_errors() -> None:
    if _error_types:
        return
    (project,) = brownie.project.get_loaded_projects()
    # BaselineERC721: the ERC-721 behaviour suite names OpenZeppelin's errors on the reference.
    for container in (
        project.TicketEvent,
        project.TicketGate,
        project.TicketFactory,
        project.BaselineERC721,
    ):
        for item in container.abi:
            if item["type"] != "error":
                continue
            types = [i["type"] for i in item["inputs"]]
            _error_types[item["name"]] = types
            signature = f"{item['name']}({','.join(types)})"
            _error_by_selector["0x" + keccak(text=signature)[:4].hex()] = (item["name"], types)


def error_names() -> set[str]:
    """Every custom error name of the ticket contracts' ABIs."""
    _load_errors()
    return set(_error_types)


def _format_args(types: Sequence[str], args: Sequence[Any]) -> str:
    # brownie renders decoded error arguments with str(); round-tripping the expected arguments
    # through the same ABI codec gives the identical rendering (checksums, bytes, ints).
    plain = [getattr(a, "address", a) for a in args]  # brownie accounts and contracts
    plain = [
        bytes.fromhex(a[2:]) if t.startswith("bytes") and isinstance(a, str) else a
        for t, a in zip(types, plain, strict=True)
    ]
    values = eth_abi.decode(list(types), eth_abi.encode(list(types), plain))
    return ", ".join(str(v) for v in values)


def revert_text(exc: BaseException) -> str:
    """brownie's decoded revert text of a failed transaction or call."""
    if isinstance(exc, VirtualMachineError):
        return exc.revert_msg or ""
    text = str(exc)
    return text.removeprefix("Call reverted: ")


def decode_revert(exc: BaseException) -> tuple[str, str]:
    """(error name, rendered arguments) of a revert, from brownie's text or the raw selector."""
    _load_errors()
    text = revert_text(exc)
    if text.startswith("Unknown typed error: 0x"):
        data = text.removeprefix("Unknown typed error: ")
        name, types = _error_by_selector.get(data[:10], (f"unknown {data[:10]}", []))
        values = eth_abi.decode(types, bytes.fromhex(data[10:]))
        return name, ", ".join(str(v) for v in values)
    name, _, rendered = text.partition(": ")
    return name.strip().rstrip(":"), rendered.strip()


@contextmanager
def reverts(error: str, *args: Any) -> Iterator[None]:
    """Assert that the block reverts with the custom error `error` (and `args`, when given).

    brownie 1.22 decodes custom errors of loaded ABIs as 'Name: arg, arg'; anything it cannot
    decode arrives as 'Unknown typed error: 0x...', which is decoded here from our ABIs.
    """
    _load_errors()
    assert error in _error_types, f"{error} is not an error of the ticket contracts"
    try:
        yield
    except (VirtualMachineError, ValueError) as exc:
        name, rendered = decode_revert(exc)
        assert name == error, f"expected {error}, reverted with {revert_text(exc)!r}"
        if args:
            expected = _format_args(_error_types[error], args)
            assert rendered == expected, f"{error}: expected ({expected}), got ({rendered})"
    else:
        raise AssertionError(f"expected a revert with {error}, but nothing reverted")


# ----------------------------------------------------------------------------- EIP-712 orders

SELL_ORDER_FIELDS = ("tokenId", "price", "reservedFor", "moves", "nonce", "deadline")
SELL_ORDER_TYPES = {
    "SellOrder": [
        {"name": "tokenId", "type": "uint256"},
        {"name": "price", "type": "uint256"},
        {"name": "reservedFor", "type": "address"},
        {"name": "moves", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}


def order_domain(ticket: Any) -> dict[str, Any]:
    return {
        "name": "Fairgate Ticket",
        "version": "1",
        "chainId": brownie.chain.id,
        "verifyingContract": ticket.address,
    }


def order_tuple(order: dict[str, Any]) -> tuple[Any, ...]:
    """The SellOrder struct as the tuple brownie encodes."""
    return tuple(order[k] for k in SELL_ORDER_FIELDS)


def order_terms(order: dict[str, Any]) -> tuple[Any, ...]:
    """The OrderTerms a buyer sends to ``buyWithOrder`` (the chain supplies moves and nonce)."""
    return (order["tokenId"], order["price"], order["reservedFor"], order["deadline"])


def compact(signature: str | bytes) -> tuple[str, str]:
    """A 65-byte signature (0x-hex or bytes) as EIP-2098's (r, vs), as ``buyWithOrder`` takes it."""
    raw = bytes.fromhex(signature[2:]) if isinstance(signature, str) else bytes(signature)
    assert len(raw) == 65 and raw[64] in (27, 28), "a 65-byte signature with v 27 or 28"
    vs = int.from_bytes(raw[32:64], "big") | ((raw[64] - 27) << 255)
    return "0x" + raw[:32].hex(), "0x" + vs.to_bytes(32, "big").hex()


def order_digest(ticket: Any, order: dict[str, Any]) -> str:
    """The EIP-712 digest computed off-chain with eth-account."""
    signable = encode_typed_data(order_domain(ticket), SELL_ORDER_TYPES, dict(order))
    return "0x" + _hash_eip191_message(signable).hex()


def sign_order(private_key: str, ticket: Any, order: dict[str, Any]) -> str:
    """The holder's signature over a SellOrder (65 bytes, 0x-hex)."""
    signed = Account.sign_typed_data(private_key, order_domain(ticket), SELL_ORDER_TYPES, order)
    return "0x" + bytes(signed.signature).hex()


# ----------------------------------------------------------------------------- time and money


def warp(timestamp: int) -> None:
    """Move the chain's clock to at least `timestamp` and mine a block there."""
    delta = timestamp - brownie.chain.time()
    if delta > 0:
        brownie.chain.sleep(delta)
    brownie.chain.mine()
    short = timestamp - brownie.chain[-1].timestamp
    if short > 0:  # the node's clock lags brownie's (Anvil after a revert): move it the rest
        brownie.chain.sleep(short)
        brownie.chain.mine()
    assert brownie.chain[-1].timestamp >= timestamp


def gas_cost(tx: Any) -> int:
    """Wei the sender paid for gas."""
    return tx.gas_used * tx.gas_price


# ----------------------------------------------------------------------------- ResaleMath model


def model_cap(face_value: int, cap_bps: int) -> int:
    return face_value * cap_bps // BPS


def model_split(price: int, royalty_bps: int) -> tuple[int, int]:
    royalty = price * royalty_bps // BPS
    return royalty, price - royalty


# ----------------------------------------------------------------------------- TicketGate


class BoundGate:
    """The platform's TicketGate bound to one event: every function gets the event's address as
    its first argument, so ``bound.publishRoot(root, {"from": gate})`` calls
    ``ticket_gate.publishRoot(event, root, {"from": gate})``."""

    def __init__(self, gate: Any, event: Any) -> None:
        self.contract = gate
        self.event = event
        self.address = gate.address

    def __getattr__(self, name: str) -> Any:
        function = getattr(self.contract, name)

        def bound(*args: Any) -> Any:
            return function(self.event, *args)

        return bound
