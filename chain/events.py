"""Reading contract events in block ranges, resumable and reorg-aware.

The indexer's contract with this module: call :meth:`EventReader.next_batch` with the cursor it
persisted last (None the first time); apply ``batch.events`` and persist ``batch.cursor`` in the
same database transaction; repeat until it returns None (caught up). Events arrive once each, in
chain order, as plain dicts (JSON-ready: bytes become ``0x`` hex)::

    {"event": "Resold", "args": {...}, "block_number": 12, "block_hash": "0x..",
     "tx_hash": "0x..", "log_index": 0, "address": "0x.."}

Why these rules:

* **Confirmations**: only blocks up to ``head - confirmations`` are read (``confirmations``
  defaults to ``settings.confirmations``), so a short reorg never reaches the indexer.
* **Cursor = (last processed block, its hash)**: on the next call the reader checks that the
  block still has that hash. If not (a reorg deeper than ``confirmations``, or a development chain
  reverted to a snapshot), it returns a *rewind* batch: no events, ``rewound_to`` set to a block
  ``reorg_depth`` below the cursor (or before ``start_block``), and a cursor there. The caller
  deletes whatever it derived from blocks above ``rewound_to`` and continues; the events of the
  new chain follow. One stored hash cannot tell how deep the fork is, hence the fixed, generous
  depth (``settings.reorg_depth``, default 64 blocks, more than any Ethereum reorg since the
  merge).
* **Chunks**: ``eth_getLogs`` over at most ``chunk_size`` blocks per call, and never more than the
  provider allows (``settings.rpc_max_log_blocks``); nodes cap the result size too, so the chunk
  is halved on such errors and grows back after successes.
* **Topic filters**: ``where`` narrows some events by their indexed arguments (``{"Transfer":
  [None, ZERO_TOPIC]}``: only transfers *to* the zero address, i.e. burns). The node then sends
  only those logs; a chunk is one ``eth_getLogs`` for the unfiltered events plus one per filtered
  event, merged in chain order (block, log index).
* **Consistency inside a chunk**: the hashes of the cursor block and of the chunk's last block are
  read before and after ``eth_getLogs``; if either changed meanwhile the chunk is re-read (or a
  rewind returned), so the logs and the cursor always come from the same chain.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from requests.exceptions import RequestException
from web3 import Web3
from web3.exceptions import BlockNotFound, Web3Exception

from chain.logs import EventDecoder
from fairgate.errors import ChainError
from fairgate.settings import Settings, get_settings

__all__ = ["ZERO_TOPIC", "Batch", "Cursor", "EventReader", "EventRecord", "TopicFilter"]

log = logging.getLogger(__name__)

_NODE_ERRORS = (Web3Exception, RequestException, OSError, ValueError)
#: The zero address as an indexed topic (``Transfer`` to it is a burn).
ZERO_TOPIC = b"\x00" * 32
#: Constraints on an event's topics 1..3: None = any, one value, or a list of allowed values.
TopicFilter = Sequence[bytes | str | Sequence[bytes | str] | None]
_TOO_MUCH = ("more than", "too many", "limit", "range", "too large", "exceed", "timeout")


class EventRecord(TypedDict):
    """One decoded log."""

    event: str
    args: dict[str, Any]
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    address: str


@dataclass(frozen=True)
class Cursor:
    """The last block fully processed and its hash; persist it with the derived data."""

    block_number: int
    block_hash: str

    def to_json(self) -> dict[str, Any]:
        return {"block_number": self.block_number, "block_hash": self.block_hash}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Cursor:
        return cls(int(data["block_number"]), str(data["block_hash"]))


@dataclass(frozen=True)
class Batch:
    """Events of blocks ``from_block..to_block``, or a rewind (``rewound_to`` set, no events)."""

    events: list[EventRecord]
    cursor: Cursor | None  # None: rewound to before start_block; start over
    from_block: int
    to_block: int
    rewound_to: int | None = None


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class _Retry(Exception):
    """The chain moved under a chunk read: read it again."""


class EventReader:
    """Reads (and decodes) the events of ``abi`` emitted by ``addresses``.

    ``addresses`` may be one address, several, or None for any emitter (decoding then relies on
    the event signatures alone). ``event_names`` restricts to some events of the ABI; ``where``
    narrows some of them by their indexed arguments (see the module doc).
    """

    def __init__(
        self,
        w3: Web3,
        abi: Iterable[Mapping[str, Any]],
        addresses: str | Sequence[str] | None,
        *,
        start_block: int = 0,
        confirmations: int | None = None,
        chunk_size: int = 2_000,
        reorg_depth: int | None = None,
        event_names: Iterable[str] | None = None,
        where: Mapping[str, TopicFilter] | None = None,
        settings: Settings | None = None,
    ) -> None:
        if chunk_size < 1 or (reorg_depth is not None and reorg_depth < 1) or start_block < 0:
            raise ValueError("chunk_size and reorg_depth must be >= 1, start_block >= 0")
        self.w3 = w3
        settings = settings or get_settings()
        self.confirmations = settings.confirmations if confirmations is None else confirmations
        self.start_block = start_block
        # never wider than the provider allows (settings.rpc_max_log_blocks)
        self.max_chunk = min(chunk_size, settings.rpc_max_log_blocks)
        self._chunk = self.max_chunk
        self.reorg_depth = settings.reorg_depth if reorg_depth is None else reorg_depth
        if isinstance(addresses, str):
            addresses = [addresses]
        self.addresses: list[ChecksumAddress] | None = (
            None if addresses is None else [to_checksum_address(a) for a in addresses]
        )
        self._decoder = EventDecoder(w3, abi, event_names)
        self._queries = self._topic_queries(dict(where or {}))

    # -- public ----------------------------------------------------------------------------------

    def safe_head(self) -> int:
        """The newest block deep enough to read (``head - confirmations``)."""
        head: int = self._call(lambda: int(self.w3.eth.block_number))
        return head - self.confirmations

    def next_batch(self, cursor: Cursor | None) -> Batch | None:
        """The next chunk after ``cursor`` (a rewind if the cursor's block was reorged away),
        or None when there is nothing new up to the safe head."""
        for _ in range(5):
            try:
                return self._next_batch(cursor)
            except _Retry:
                log.info("chain moved while reading after %s; reading again", cursor)
        raise ChainError("the chain kept reorganising while events were read")

    def batches(self, cursor: Cursor | None) -> Iterator[Batch]:
        """Batches until caught up; persist each batch's cursor before asking for the next."""
        while (batch := self.next_batch(cursor)) is not None:
            yield batch
            cursor = batch.cursor

    def read_all(self, cursor: Cursor | None = None) -> tuple[list[EventRecord], Cursor | None]:
        """Every event after ``cursor`` up to the safe head (tests, small contracts).

        A rewind met on the way drops the events already collected above its block.
        """
        events: list[EventRecord] = []
        for batch in self.batches(cursor):
            if batch.rewound_to is not None:
                events = [e for e in events if e["block_number"] <= batch.rewound_to]
            events.extend(batch.events)
            cursor = batch.cursor
        return events, cursor

    # -- internals -------------------------------------------------------------------------------

    def _call(self, fn: Any) -> Any:
        try:
            return fn()
        except _NODE_ERRORS as exc:
            raise ChainError(f"node error while reading events: {exc}") from exc

    def _hash_of(self, number: int) -> str | None:
        try:
            block = self.w3.eth.get_block(number)
        except BlockNotFound:
            return None
        except _NODE_ERRORS as exc:
            raise ChainError(f"cannot read block {number}: {exc}") from exc
        return "0x" + bytes(block["hash"]).hex()

    def _rewind(self, cursor: Cursor) -> Batch:
        target = cursor.block_number - self.reorg_depth
        log.warning(
            "reorg: block %d is no longer %s; rewinding to block %d",
            cursor.block_number, cursor.block_hash, max(target, self.start_block - 1),
        )  # fmt: skip
        if target < self.start_block:
            return Batch([], None, self.start_block, cursor.block_number, self.start_block - 1)
        target_hash = self._hash_of(target)
        if target_hash is None:  # the chain is now shorter than the rewind target
            return self._rewind(Cursor(target, ""))
        return Batch([], Cursor(target, target_hash), target + 1, cursor.block_number, target)

    def _next_batch(self, cursor: Cursor | None) -> Batch | None:
        if cursor is not None and self._hash_of(cursor.block_number) != cursor.block_hash:
            return self._rewind(cursor)
        first = self.start_block if cursor is None else cursor.block_number + 1
        safe = self.safe_head()
        if first > safe:
            return None
        while True:
            last = min(first + self._chunk - 1, safe)
            last_hash = self._hash_of(last)
            if last_hash is None:
                raise _Retry
            try:
                logs = self._get_logs(first, last)
            except _NODE_ERRORS as exc:
                if self._chunk > 1 and any(t in str(exc).lower() for t in _TOO_MUCH):
                    self._chunk = max(1, self._chunk // 2)
                    log.info("eth_getLogs refused %d blocks (%s); chunk now %d",
                             last - first + 1, exc, self._chunk)  # fmt: skip
                    continue
                raise ChainError(f"eth_getLogs {first}..{last} failed: {exc}") from exc
            break
        # the same chain before and after eth_getLogs?
        if self._hash_of(last) != last_hash:
            raise _Retry
        if cursor is not None and self._hash_of(cursor.block_number) != cursor.block_hash:
            return self._rewind(cursor)
        events = self._decode_all(logs, last, last_hash)
        self._chunk = min(self.max_chunk, self._chunk * 2)
        log.debug("read %d events in blocks %d..%d", len(events), first, last)
        return Batch(events, Cursor(last, last_hash), first, last)

    def _topic_queries(self, where: dict[str, TopicFilter]) -> list[list[Any]]:
        """The ``topics`` of each eth_getLogs a chunk needs (see the module doc)."""
        queries: list[list[Any]] = []
        for name, constraints in where.items():
            if len(constraints) > 3:
                raise ValueError(f"{name}: at most 3 indexed topics can be filtered")
            topics: list[Any] = [HexBytes(self._decoder.topic_of(name))]
            for c in constraints:
                if c is None or isinstance(c, bytes | str):
                    topics.append(None if c is None else HexBytes(c))
                else:
                    topics.append([HexBytes(v) for v in c])
            queries.append(topics)
        plain = [t for t in self._decoder.topics if t not in {bytes(q[0]) for q in queries}]
        if plain:
            queries.insert(0, [[HexBytes(t) for t in plain]])
        return queries

    def _filter(self, first: int, last: int, topics: list[Any]) -> Any:
        params: dict[str, Any] = {"fromBlock": first, "toBlock": last, "topics": topics}
        if self.addresses is not None:
            params["address"] = self.addresses
        return params

    def _get_logs(self, first: int, last: int) -> list[Any]:
        logs: list[Any] = []
        for topics in self._queries:
            logs.extend(self.w3.eth.get_logs(self._filter(first, last, topics)))
        return logs

    def _decode_all(self, logs: Iterable[Any], last: int, last_hash: str) -> list[EventRecord]:
        out: list[EventRecord] = []
        for entry in sorted(logs, key=lambda e: (int(e["blockNumber"]), int(e["logIndex"]))):
            if entry.get("removed"):
                continue
            block_hash = "0x" + bytes(entry["blockHash"]).hex()
            if int(entry["blockNumber"]) == last and block_hash != last_hash:
                raise _Retry
            record = self._decode(entry, block_hash)
            if record is not None:
                out.append(record)
        return out

    def _decode(self, entry: Any, block_hash: str) -> EventRecord | None:
        decoded = self._decoder.decode(entry)
        if decoded is None:
            return None
        return EventRecord(
            event=decoded.name,
            args=_plain(decoded.args),
            block_number=decoded.block_number,
            block_hash=block_hash,
            tx_hash=decoded.tx_hash,
            log_index=decoded.log_index,
            address=decoded.address,
        )
