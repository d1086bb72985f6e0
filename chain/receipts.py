"""Transaction receipts read straight from the node, in the shape web3.py gives them.

web3.py formats a receipt field by field through generic formatter chains: about 0.5 ms per log
here, so the receipt of a 200-order mint batch (600 logs) took 0.4 s of Python, as long as a
third of Ganache's work to mine it. :func:`fetch_receipt` asks the node with one raw JSON-RPC
request and converts the fields it knows with plain functions (ints, ``HexBytes``, checksum
addresses), giving the same values and types as ``w3.eth.get_transaction_receipt``
(``tests/chain/test_receipts.py`` compares them); fields it does not know are passed through
as the node sent them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, cast

from eth_hash.auto import keccak
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.datastructures import AttributeDict
from web3.exceptions import TransactionNotFound
from web3.types import RPCEndpoint, TxReceipt

from fairgate.errors import ChainError


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


_HEX_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def checksum_address(value: str) -> str:
    """EIP-55 checksum of a 0x-hex address: ``to_checksum_address``'s result in a fifth of its
    time (~20 us against ~90 us here; it validates and converts through several layers); the
    worker checksums one holder per minted order. Anything else goes to ``to_checksum_address``.
    """
    if not isinstance(value, str) or _HEX_ADDRESS.fullmatch(value) is None:
        return to_checksum_address(value)
    low = value[2:].lower()
    digest = keccak(low.encode()).hex()
    return "0x" + "".join(c.upper() if d > "7" else c for c, d in zip(low, digest, strict=False))


@lru_cache(maxsize=4096)
def _checksum(value: str) -> str:
    return checksum_address(value)


def _address(value: Any) -> Any:
    """A checksum address, cached: a receipt's logs repeat one contract's address."""
    return None if value is None else _checksum(value)


_LOG_FIELDS: dict[str, Callable[[Any], Any]] = {
    "address": _address,
    "blockHash": HexBytes,
    "blockNumber": _int,
    "data": HexBytes,
    "logIndex": _int,
    "transactionHash": HexBytes,
    "transactionIndex": _int,
    "removed": bool,
}

_RECEIPT_FIELDS: dict[str, Callable[[Any], Any]] = {
    "blockHash": HexBytes,
    "blockNumber": _int,
    "contractAddress": _address,
    "cumulativeGasUsed": _int,
    "effectiveGasPrice": _int,
    "from": _address,
    "gasUsed": _int,
    "logsBloom": HexBytes,
    "root": HexBytes,
    "status": _int,
    "to": _address,
    "transactionHash": HexBytes,
    "transactionIndex": _int,
    "type": _int,
    "blobGasUsed": _int,
    "blobGasPrice": _int,
}


def _convert(
    raw: Mapping[str, Any], fields: Mapping[str, Callable[[Any], Any]], seen: dict[Any, Any]
) -> Any:
    """Convert one receipt or log. ``seen`` remembers this receipt's converted values: its logs
    repeat the block hash, transaction hash and event topics (a 600-log receipt held ~4,000
    byte strings to convert, ~1,400 of them distinct). Converted values are immutable."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "logs":
            out[key] = [_convert(log, _LOG_FIELDS, seen) for log in value]
        elif key == "topics":
            topics = []
            for t in value:
                hit = seen.get(t)
                if hit is None:
                    hit = seen[t] = HexBytes(t)
                topics.append(hit)
            out[key] = topics
        else:
            convert = fields.get(key)
            if convert is None or value is None:
                out[key] = value
            elif convert is _int or convert is bool:
                out[key] = convert(value)
            else:
                memo = (convert, value)
                hit = seen.get(memo)
                if hit is None:
                    hit = seen[memo] = convert(value)
                out[key] = hit
    return AttributeDict(out)


def format_receipt(raw: Mapping[str, Any], topics: frozenset[str] | None = None) -> TxReceipt:
    """A node's JSON receipt as web3.py's ``TxReceipt``. ``topics``: keep only the logs whose
    first topic is one of these (lowercase 0x hex); the others are dropped unread."""
    if topics is not None and raw.get("logs"):
        kept = [g for g in raw["logs"] if g.get("topics") and g["topics"][0].lower() in topics]
        raw = {**raw, "logs": kept}
    return cast(TxReceipt, _convert(raw, _RECEIPT_FIELDS, {}))


def fetch_receipt(
    w3: Web3, tx_hash: str | bytes, topics: frozenset[str] | None = None
) -> TxReceipt:
    """The receipt of ``tx_hash``; ``TransactionNotFound`` while it is not mined (as web3).
    ``topics``: only the logs of these events (:func:`format_receipt`): a 200-order mint batch
    has 600 logs, and the bridge reads the 200 ``TicketsIssued`` (converting the other 400
    was two thirds of the ~6 ms it took to format one such receipt)."""
    hex_hash = HexBytes(tx_hash).to_0x_hex()
    response = w3.provider.make_request(RPCEndpoint("eth_getTransactionReceipt"), [hex_hash])
    if "error" in response:
        error = response["error"]
        message = error.get("message", error) if isinstance(error, Mapping) else error
        raise ChainError(f"eth_getTransactionReceipt({hex_hash}) failed: {message}")
    result = response.get("result")
    if result is None:
        raise TransactionNotFound(f"Transaction with hash: '{hex_hash}' not found.")
    return format_receipt(result, topics)
