"""Revert decoding: contract reverts become Fairgate exceptions, one class per Solidity error.

Why generated classes: callers want ``except error_class("PriceAboveCap") as e: e.cap`` rather than
string matching on web3's ``ContractCustomError('0x842c488a...')``. The ABI is the single source of
truth, so the classes are built from it at run time: :data:`REGISTRY` registers the errors of
every contract in the package data (:mod:`chain.abi`, written by the set-up) the first time a
name or selector is not found, each contract client registers its own ABI (a contract compiled
elsewhere, such as the ceremony's verifier), and everyone looks classes up by name
(:func:`error_class`, or ``from chain.errors import PriceAboveCap``, through the module
``__getattr__``). One class per error *signature*: contracts
that share an error (OpenZeppelin's ``AccessControlUnauthorizedAccount(address,bytes32)``) share
the class.

Hierarchy (all subclasses of :class:`fairgate.errors.ContractRevert`, via :class:`DecodedRevert`):

* :class:`CustomError` - base of the generated classes; decoded arguments are attributes and are
  in ``values`` (ordered dict, also for names that clash with ``Exception`` attributes);
* :class:`RevertReason` - ``Error(string)`` from ``require(cond, "...")``;
* :class:`Panic` - ``Panic(uint256)`` (overflow, division by zero, bad array index...);
* :class:`UnknownRevert` - no data (``revert()``, out of gas) or a selector nobody registered.

Where the revert data is, measured on Ganache 7.9.2 (web3 7.16.0) - other nodes differ, hence the
tolerant :func:`revert_data`:

* ``eth_call``: JSON-RPC error ``{"code": -32000, "message": "VM Exception while processing
  transaction: revert", "data": "0x<revert data>"}``; web3 raises ``ContractCustomError`` /
  ``ContractPanicError`` with ``.data`` the hex string, but ``Web3RPCError`` (data in
  ``rpc_response``) for ``Error(string)`` and for an empty revert;
* ``eth_estimateGas``: ``"data": {"result": "0x<revert data>", "reason": ..., "message":
  "revert", "programCounter": ..., "hash": null}``; web3 raises ``ContractLogicError`` whose
  ``.data`` is that dict. The same dict shape with ``"result": <tx hash>`` is used for errors that
  are not reverts (e.g. a fee below the base fee), so ``result`` is trusted only when
  ``message`` says ``revert``;
* a mined failing transaction: the receipt has ``status: 0`` and no data; it is re-run as an
  ``eth_call`` against the state before its block (exact on an instamining node, where each
  transaction has its own block), then at its block (:func:`replay_revert_data`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils.abi import abi_to_signature, function_signature_to_4byte_selector
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import Web3Exception
from web3.types import TxReceipt

from fairgate.errors import ContractRevert, ToolchainError

__all__ = [
    "REGISTRY",
    "CustomError",
    "DecodedRevert",
    "ErrorRegistry",
    "Panic",
    "RevertReason",
    "UnknownRevert",
    "decode_revert",
    "decoded_reverts",
    "error_class",
    "register_abi",
    "replay_revert_data",
    "revert_data",
    "revert_from_exception",
]

log = logging.getLogger(__name__)

ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256)
PANIC_CODES: dict[int, str] = {
    0x00: "generic compiler panic",
    0x01: "assert failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division or modulo by zero",
    0x21: "invalid enum value",
    0x22: "corrupt storage byte array",
    0x31: "pop on empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
    0x51: "call to a zero-initialised function pointer",
}
# attribute names a decoded argument must not shadow (they stay reachable through ``values``)
_RESERVED = frozenset(dir(ContractRevert("x"))) | {"values", "data", "tx_hash", "selector"}


def _plain(value: Any, abi_type: str) -> Any:
    """Checksummed addresses; everything else as eth-abi decodes it (bytes stay bytes)."""
    if abi_type == "address" and isinstance(value, str):
        return to_checksum_address(value)
    if abi_type.startswith("address[") and isinstance(value, (list, tuple)):
        return type(value)(to_checksum_address(v) for v in value)
    return value


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return repr(value)


class DecodedRevert(ContractRevert):
    """A revert whose data was looked at. ``data`` is the raw revert data (may be empty)."""

    data: bytes
    tx_hash: str | None

    def __init__(self, message: str, *, data: bytes, tx_hash: str | None = None, **details: Any):
        if tx_hash:
            message = f"{message} [tx {tx_hash}]"
        super().__init__(message, **details)
        self.data = data
        self.tx_hash = tx_hash


class CustomError(DecodedRevert):
    """Base of the classes generated from ABI ``error`` entries (see :class:`ErrorRegistry`)."""

    error_name: ClassVar[str] = ""
    signature: ClassVar[str] = ""
    selector: ClassVar[bytes] = b""
    arg_names: ClassVar[tuple[str, ...]] = ()
    arg_types: ClassVar[tuple[str, ...]] = ()

    values: dict[str, Any]

    def __init__(self, *args: Any, data: bytes = b"", tx_hash: str | None = None) -> None:
        if len(args) != len(self.arg_names):
            raise TypeError(f"{self.signature} takes {len(self.arg_names)} arguments")
        values = {
            n: _plain(v, t) for n, v, t in zip(self.arg_names, args, self.arg_types, strict=True)
        }
        shown = ", ".join(f"{n}={_show(v)}" for n, v in values.items())
        super().__init__(f"{self.error_name}({shown})", data=data, tx_hash=tx_hash, **values)
        self.values = values
        for name, value in values.items():
            if name not in _RESERVED:
                setattr(self, name, value)

    def __getattr__(self, name: str) -> Any:  # typed access for mypy; real values set above
        raise AttributeError(name)


class RevertReason(DecodedRevert):
    """``require(condition, "reason")`` or ``revert("reason")``: ``Error(string)``."""

    def __init__(self, reason: str, *, data: bytes = b"", tx_hash: str | None = None) -> None:
        super().__init__(f"Error(reason={reason!r})", data=data, tx_hash=tx_hash, reason=reason)
        self.reason = reason


class Panic(DecodedRevert):
    """A Solidity ``Panic(uint256)``: a bug or an unchecked condition in the contract."""

    def __init__(self, panic_code: int, *, data: bytes = b"", tx_hash: str | None = None) -> None:
        what = PANIC_CODES.get(panic_code, "unknown panic code")
        super().__init__(
            f"Panic(code=0x{panic_code:02x}: {what})",
            data=data,
            tx_hash=tx_hash,
            panic_code=panic_code,
        )
        self.panic_code = panic_code
        self.description = what


class UnknownRevert(DecodedRevert):
    """A revert without data (``revert()``, ``require(c)``, out of gas) or with unknown data."""

    def __init__(self, *, data: bytes = b"", tx_hash: str | None = None, note: str = "") -> None:
        text = "reverted without data" if not data else f"unknown revert 0x{data[:4].hex()}"
        if data and len(data) > 4:
            text += f" ({len(data) - 4} bytes of arguments)"
        super().__init__(text + (f"; {note}" if note else ""), data=data, tx_hash=tx_hash)


class ErrorRegistry:
    """Selector -> generated :class:`CustomError` subclass, filled from ABIs; thread safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_selector: dict[bytes, type[CustomError]] = {}
        self._by_name: dict[str, list[type[CustomError]]] = {}

    def register_abi(self, abi: Iterable[Mapping[str, Any]]) -> list[type[CustomError]]:
        """Make (or reuse) one class per ``"type": "error"`` entry; return them in ABI order."""
        return [self._register(entry) for entry in abi if entry.get("type") == "error"]

    def _register(self, entry: Mapping[str, Any]) -> type[CustomError]:
        signature = abi_to_signature(dict(entry))  # type: ignore[arg-type]
        selector = function_signature_to_4byte_selector(signature)
        inputs: Sequence[Mapping[str, Any]] = entry.get("inputs", [])
        with self._lock:
            existing = self._by_selector.get(selector)
            if existing is not None:
                return existing
            name = str(entry["name"])
            cls = type(
                name,
                (CustomError,),
                {
                    "__module__": __name__,
                    "__qualname__": name,
                    "__doc__": f"Solidity custom error ``{signature}``.",
                    "error_name": name,
                    "signature": signature,
                    "selector": selector,
                    "arg_names": tuple(i.get("name") or f"arg{n}" for n, i in enumerate(inputs)),
                    "arg_types": tuple(_arg_types(signature, name)),
                },
            )
            self._by_selector[selector] = cls
            self._by_name.setdefault(name, []).append(cls)
            log.debug("registered revert class %s (0x%s)", signature, selector.hex())
            return cls

    def by_selector(self, selector: bytes) -> type[CustomError] | None:
        return self._by_selector.get(bytes(selector[:4]))

    def error_class(self, name: str) -> type[CustomError]:
        """The class of the error ``name`` (a name or a full signature such as ``Empty()``)."""
        if "(" in name:
            cls = self.by_selector(function_signature_to_4byte_selector(name))
            if cls is None:
                raise KeyError(f"no contract error {name} is registered")
            return cls
        found = self._by_name.get(name, [])
        if not found:
            raise KeyError(f"no contract error named {name!r} is registered (register its ABI)")
        if len(found) > 1:
            sigs = ", ".join(c.signature for c in found)
            raise KeyError(f"{name!r} is ambiguous ({sigs}): ask by signature")
        return found[0]

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def decode(self, data: bytes, *, tx_hash: str | None = None) -> DecodedRevert:
        """Turn raw revert data into the matching exception (never raises for bad data)."""
        data = bytes(data)
        selector, payload = data[:4], data[4:]
        try:
            if selector == ERROR_SELECTOR:
                (reason,) = abi_decode(["string"], payload)
                return RevertReason(reason, data=data, tx_hash=tx_hash)
            if selector == PANIC_SELECTOR:
                (code,) = abi_decode(["uint256"], payload)
                return Panic(code, data=data, tx_hash=tx_hash)
            cls = self.by_selector(selector) if len(data) >= 4 else None
            if cls is not None:
                values = abi_decode(list(cls.arg_types), payload) if cls.arg_types else ()
                return cls(*values, data=data, tx_hash=tx_hash)
        except (DecodingError, ValueError, OverflowError) as exc:
            log.warning("revert data 0x%s does not decode: %s", data[:4].hex(), exc)
            return UnknownRevert(data=data, tx_hash=tx_hash, note="arguments do not decode")
        return UnknownRevert(data=data, tx_hash=tx_hash)


def _arg_types(signature: str, name: str) -> list[str]:
    """Top-level argument types of a canonical signature, e.g. ``X((uint256,bytes),address)``."""
    inner, depth, start, out = signature[len(name) + 1 : -1], 0, 0, []
    if not inner:
        return []
    for i, ch in enumerate(inner):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(inner[start:i])
            start = i + 1
    out.append(inner[start:])
    return out


class _PackagedRegistry(ErrorRegistry):
    """The process-wide registry: on the first miss it registers every packaged ABI's errors."""

    def __init__(self) -> None:
        super().__init__()
        self._packaged = False

    def _load_packaged(self) -> bool:
        """Register the package data's errors once; False when that was done already."""
        if self._packaged:
            return False
        from chain.abi import all_abis  # package data only: never the compiler

        for abi in all_abis():
            self.register_abi(abi)
        self._packaged = True
        return True

    def by_selector(self, selector: bytes) -> type[CustomError] | None:
        found = super().by_selector(selector)
        if found is None:
            try:
                if self._load_packaged():
                    return super().by_selector(selector)
            except ToolchainError as exc:  # decoding a revert must not fail on missing ABIs
                log.warning("revert classes of the packaged ABIs unavailable: %s", exc)
        return found

    def error_class(self, name: str) -> type[CustomError]:
        try:
            return super().error_class(name)
        except KeyError:
            if not self._load_packaged():
                raise
        return super().error_class(name)


REGISTRY: ErrorRegistry = _PackagedRegistry()
"""The process-wide registry: the packaged ABIs' errors, and those clients register."""


def register_abi(abi: Iterable[Mapping[str, Any]]) -> list[type[CustomError]]:
    """Register a contract ABI's errors in :data:`REGISTRY` (idempotent)."""
    return REGISTRY.register_abi(abi)


def error_class(name: str) -> type[CustomError]:
    """The registered class of a Solidity error, by name or signature (``KeyError`` if none)."""
    return REGISTRY.error_class(name)


def decode_revert(
    data: bytes | str, *, tx_hash: str | None = None, registry: ErrorRegistry | None = None
) -> DecodedRevert:
    """Raw revert data (bytes or 0x-hex) to the matching exception instance."""
    return (registry or REGISTRY).decode(HexBytes(data), tx_hash=tx_hash)


def __getattr__(name: str) -> type[CustomError]:
    """``from chain.errors import PriceAboveCap``: the class of a packaged or registered ABI."""
    if name.startswith("_"):  # dunder probes (import machinery, pytest) never load ABIs
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        return REGISTRY.error_class(name)
    except (KeyError, ToolchainError):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


# --- finding revert data in what web3 and the node return -------------------------------------


def _hex_bytes(value: Any) -> bytes | None:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str) and value.startswith("0x"):
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            return None
    return None


def _from_payload(payload: Any, depth: int = 0) -> bytes | None:
    """Revert data from a JSON-RPC ``error.data`` in the shapes Ganache, geth, Hardhat and Anvil
    use: a hex string, ``{"result": hex, "message": "revert"}`` (Ganache), ``{"data": hex}``."""
    if depth > 4:
        return None
    found = _hex_bytes(payload)
    if found is not None:
        return found
    if isinstance(payload, Mapping):
        if "result" in payload and "revert" in str(payload.get("message", "")):
            return _hex_bytes(payload["result"])
        for key in ("data", "error", "originalError"):
            if key in payload:
                found = _from_payload(payload[key], depth + 1)
                if found is not None:
                    return found
    return None


def _is_revert_message(message: str) -> bool:
    text = message.lower()
    return "revert" in text and "insufficient funds" not in text


def revert_data(exc: BaseException) -> bytes | None:
    """The revert data inside a web3 exception, or None if ``exc`` is not a revert.

    Empty bytes mean "a revert without data" (``revert()``).
    """
    data = getattr(exc, "data", None)
    if data is not None:
        found = _from_payload(data)
        if found is not None:
            return found
    response = getattr(exc, "rpc_response", None)
    if isinstance(response, Mapping):
        error = response.get("error", response)
        if isinstance(error, Mapping) and _is_revert_message(str(error.get("message", ""))):
            found = _from_payload(error.get("data"))
            return b"" if found is None else found
    for arg in getattr(exc, "args", ()):  # older web3 and some providers: ValueError({...})
        if isinstance(arg, Mapping) and _is_revert_message(str(arg.get("message", ""))):
            found = _from_payload(arg.get("data"))
            return b"" if found is None else found
    if type(exc).__name__ in {"ContractLogicError", "ContractCustomError", "ContractPanicError"}:
        return b""
    return None


def revert_from_exception(
    exc: BaseException, *, tx_hash: str | None = None, registry: ErrorRegistry | None = None
) -> DecodedRevert | None:
    """The decoded revert carried by ``exc``, or None when ``exc`` is not a revert."""
    if isinstance(exc, DecodedRevert):
        return exc
    data = revert_data(exc)
    if data is None:
        return None
    return decode_revert(data, tx_hash=tx_hash, registry=registry)


@contextmanager
def decoded_reverts(registry: ErrorRegistry | None = None) -> Iterator[None]:
    """Re-raise web3 revert exceptions from calls in the block as decoded Fairgate ones.

    >>> with decoded_reverts():
    ...     event.functions.buy(tier).call({"from": fan, "value": price})  # doctest: +SKIP
    """
    try:
        yield
    except Web3Exception as exc:
        decoded = revert_from_exception(exc, registry=registry)
        if decoded is None:
            raise
        raise decoded from exc


def replay_revert_data(w3: Web3, receipt: TxReceipt) -> bytes | None:
    """Revert data of a mined failed transaction, by re-running it as an ``eth_call``.

    Tried against the state before its block, then at its block (a transaction earlier in the
    same block may be what made it fail). None when neither replay reverts (state moved on, or
    the failure was out-of-gas, which a call with the same gas limit usually reproduces).
    """
    tx = w3.eth.get_transaction(receipt["transactionHash"])
    call: dict[str, Any] = {
        "from": tx["from"],
        "data": HexBytes(tx.get("input", b"")),
        "value": tx.get("value", 0),
        "gas": tx["gas"],
    }
    if tx.get("to"):  # a failed deployment has none: the call then runs the init code
        call["to"] = tx["to"]
    block = receipt["blockNumber"]
    for at in (block - 1, block) if block > 0 else (block,):
        try:
            w3.eth.call(call, at)  # type: ignore[arg-type]
        except Web3Exception as exc:
            data = revert_data(exc)
            if data is not None:
                return data
            log.warning("replay of %s failed without revert data: %s", tx["hash"].hex(), exc)
            return None
    return None
