"""Decoding contract logs with an ABI: one place that maps topics to events.

Used by the typed clients (a receipt's events) and by :class:`chain.events.EventReader` (events
over block ranges). A log whose first topic matches an event of the ABI but whose layout does not
(ERC-20 and ERC-721 ``Transfer`` share a topic) is refused rather than guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from eth_typing import ChecksumAddress
from eth_utils.abi import event_abi_to_log_topic
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3._utils.events import get_event_data

from fairgate.errors import ChainError

__all__ = ["DecodedEvent", "EventDecoder"]


@dataclass(frozen=True)
class DecodedEvent:
    """One log of a known event, decoded with the contract's ABI."""

    name: str
    args: dict[str, Any]
    address: ChecksumAddress
    block_number: int
    tx_hash: str
    log_index: int


class EventDecoder:
    """Decodes logs of the events in an ABI (optionally only ``names``); others are skipped."""

    def __init__(
        self, w3: Web3, abi: Iterable[Mapping[str, Any]], names: Iterable[str] | None = None
    ) -> None:
        self._codec = w3.codec
        wanted = None if names is None else set(names)
        self._by_topic: dict[bytes, Mapping[str, Any]] = {}
        for entry in abi:
            if entry.get("type") != "event" or entry.get("anonymous"):
                continue
            if wanted is None or entry["name"] in wanted:
                topic = event_abi_to_log_topic(dict(entry))  # type: ignore[arg-type]
                self._by_topic[bytes(topic)] = entry
        if wanted is not None and (missing := wanted - self.names):
            raise ValueError(f"events not in the ABI: {', '.join(sorted(missing))}")

    @property
    def names(self) -> set[str]:
        return {str(entry["name"]) for entry in self._by_topic.values()}

    @property
    def topics(self) -> list[bytes]:
        return list(self._by_topic)

    def decode(self, log_entry: Mapping[str, Any]) -> DecodedEvent | None:
        topics = log_entry.get("topics") or []
        if not topics:
            return None
        entry = self._by_topic.get(bytes(HexBytes(topics[0])))
        if entry is None:
            return None
        try:
            data = get_event_data(self._codec, entry, log_entry)
        except Exception as exc:  # same topic, other layout: refuse to guess
            raise ChainError(
                f"log {log_entry.get('logIndex')} of tx "
                f"0x{bytes(log_entry['transactionHash']).hex()} does not decode as "
                f"{entry['name']}: {exc}"
            ) from exc
        return DecodedEvent(
            name=str(data["event"]),
            args={k: _plain(v) for k, v in dict(data["args"]).items()},
            address=to_checksum_address(data["address"]),
            block_number=int(data["blockNumber"]),
            tx_hash="0x" + bytes(data["transactionHash"]).hex(),
            log_index=int(data["logIndex"]),
        )

    def decode_all(self, logs: Iterable[Mapping[str, Any]]) -> list[DecodedEvent]:
        return [event for event in map(self.decode, logs) if event is not None]


def _plain(value: Any) -> Any:
    """web3's AttributeDicts and HexBytes into plain Python values."""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
