"""Decoding contract logs with an ABI: one place that maps topics to events.

Used by the typed clients (a receipt's events) and by :class:`chain.events.EventReader` (events
over block ranges). A log whose first topic matches an event of the ABI but whose layout does not
(ERC-20 and ERC-721 ``Transfer`` share a topic) is refused rather than guessed.

Decoding is done with ``eth_abi`` directly from a plan made once per event (indexed types, data
types): web3's generic ``get_event_data`` rebuilt that plan and normalised every value on each log
(~4 ms per log for ``TicketsIssued``, measured by the bridge's indexer). The values are the ones
web3 gives: checksummed addresses, ``bytes`` for fixed bytes, ints, lists for arrays (tuples for
structs), and, for an indexed value of a dynamic type, the topic's 32 bytes (its hash).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_typing import ChecksumAddress
from eth_utils.abi import event_abi_to_log_topic
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3

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


def _abi_type(param: Mapping[str, Any]) -> str:
    """The canonical type string of an ABI parameter (tuples spelled out)."""
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in param.get("components", []))
        return f"({inner}){kind[len('tuple') :]}"
    return kind


def _is_dynamic(kind: str) -> bool:
    return kind in ("string", "bytes") or kind.endswith("]") or kind.startswith("(")


@dataclass(frozen=True)
class _Plan:
    """How to decode one event: its name, its indexed inputs and its data's (ABI params)."""

    name: str
    indexed: tuple[Mapping[str, Any], ...]
    data: tuple[Mapping[str, Any], ...]
    data_types: tuple[str, ...]
    order: tuple[str, ...]  # the inputs' names in the ABI's order
    words_only: bool  # data made of 32-byte words and arrays of them (see _decode_words)

    @classmethod
    def of(cls, entry: Mapping[str, Any]) -> _Plan:
        inputs = list(entry.get("inputs", []))
        data = tuple(i for i in inputs if not i.get("indexed"))
        return cls(
            name=str(entry["name"]),
            indexed=tuple(i for i in inputs if i.get("indexed")),
            data=data,
            data_types=tuple(_abi_type(i) for i in data),
            order=tuple(str(i["name"]) for i in inputs),
            words_only=all(_abi_type(i) in _WORD_TYPES for i in data),
        )

    def decode(self, topics: list[bytes], data: bytes) -> dict[str, Any]:
        if len(topics) != len(self.indexed) + 1:
            raise DecodingError(f"{len(topics) - 1} indexed topics, {len(self.indexed)} expected")
        values: dict[str, Any] = {}
        for param, topic in zip(self.indexed, topics[1:], strict=True):
            if len(topic) != 32:
                raise DecodingError("a topic is not 32 bytes")
            kind = _abi_type(param)
            if _is_dynamic(kind):  # its topic is the value's hash
                values[str(param["name"])] = topic
            else:
                values[str(param["name"])] = _value(param, abi_decode([kind], topic)[0])
        if not self.data_types:
            decoded: Sequence[Any] = ()
        elif self.words_only:
            decoded = _decode_words(self.data_types, data)
        else:
            decoded = abi_decode(list(self.data_types), data)
        for param, value in zip(self.data, decoded, strict=True):
            values[str(param["name"])] = _value(param, value)
        return {name: values[name] for name in self.order}


_WORD_TYPES = frozenset({"uint256", "bytes32", "uint256[]", "bytes32[]"})


def _decode_words(types: Sequence[str], data: bytes) -> list[Any]:
    """ABI data whose types are all in :data:`_WORD_TYPES`, sliced directly: eth_abi's
    general decoder spends ~14 us per element of a ``bytes32[]`` (a 1,000-ticket
    ``TicketsIssued`` took 14 ms); here an element is one slice. Offsets and lengths are checked
    against the data's size; anything malformed raises DecodingError, as eth_abi would."""
    out: list[Any] = []
    size = len(data)
    if size < 32 * len(types):
        raise DecodingError("log data shorter than its head")
    for i, kind in enumerate(types):
        word = data[32 * i : 32 * i + 32]
        if kind == "uint256":
            out.append(int.from_bytes(word, "big"))
        elif kind == "bytes32":
            out.append(word)
        else:
            offset = int.from_bytes(word, "big")
            if offset % 32 or offset + 32 > size:
                raise DecodingError("bad array offset in log data")
            count = int.from_bytes(data[offset : offset + 32], "big")
            end = offset + 32 + 32 * count
            if end > size:
                raise DecodingError("array runs past the log data")
            items = [data[j : j + 32] for j in range(offset + 32, end, 32)]
            out.append(items if kind == "bytes32[]" else [int.from_bytes(x, "big") for x in items])
    return out


def _value(param: Mapping[str, Any], value: Any) -> Any:
    """eth_abi's value as web3 gives it: checksummed addresses, lists for arrays, a struct as a
    dict of its members."""
    kind = str(param["type"])
    if kind.endswith("]"):
        inner = {**param, "type": kind[: kind.rindex("[")]}
        return [_value(inner, v) for v in value]
    if kind == "address":
        return to_checksum_address(value)
    if kind == "tuple":
        members = param.get("components", [])
        return {str(m["name"]): _value(m, v) for m, v in zip(members, value, strict=True)}
    return value


class EventDecoder:
    """Decodes logs of the events in an ABI (optionally only ``names``); others are skipped."""

    def __init__(
        self, w3: Web3, abi: Iterable[Mapping[str, Any]], names: Iterable[str] | None = None
    ) -> None:
        wanted = None if names is None else set(names)
        self._by_topic: dict[bytes, _Plan] = {}
        for entry in abi:
            if entry.get("type") != "event" or entry.get("anonymous"):
                continue
            if wanted is None or entry["name"] in wanted:
                topic = event_abi_to_log_topic(dict(entry))  # type: ignore[arg-type]
                self._by_topic[bytes(topic)] = _Plan.of(entry)
        if wanted is not None and (missing := wanted - self.names):
            raise ValueError(f"events not in the ABI: {', '.join(sorted(missing))}")

    @property
    def names(self) -> set[str]:
        return {plan.name for plan in self._by_topic.values()}

    @property
    def topics(self) -> list[bytes]:
        return list(self._by_topic)

    def topic_of(self, name: str) -> bytes:
        """The first topic (signature hash) of event ``name``."""
        for topic, plan in self._by_topic.items():
            if plan.name == name:
                return topic
        raise ValueError(f"event {name} is not decoded here")

    def decode(self, log_entry: Mapping[str, Any]) -> DecodedEvent | None:
        topics = [bytes(HexBytes(t)) for t in log_entry.get("topics") or []]
        if not topics:
            return None
        plan = self._by_topic.get(topics[0])
        if plan is None:
            return None
        try:
            args = plan.decode(topics, bytes(HexBytes(log_entry["data"])))
        except Exception as exc:  # same topic, other layout: refuse to guess
            raise ChainError(
                f"log {_int(log_entry.get('logIndex'))} of tx "
                f"0x{bytes(HexBytes(log_entry['transactionHash'])).hex()} does not decode as "
                f"{plan.name}: {exc}"
            ) from exc
        return DecodedEvent(
            name=plan.name,
            args=args,
            address=to_checksum_address(str(log_entry["address"])),
            block_number=_int(log_entry["blockNumber"]),
            tx_hash="0x" + bytes(HexBytes(log_entry["transactionHash"])).hex(),
            log_index=_int(log_entry["logIndex"]),
        )

    def decode_all(self, logs: Iterable[Mapping[str, Any]]) -> list[DecodedEvent]:
        return [event for event in map(self.decode, logs) if event is not None]


def _int(value: Any) -> int:
    """A quantity as web3 formats it (int) or as a node sends it (``0x`` hex)."""
    if isinstance(value, str):
        return int(value, 16)
    return int(value)
