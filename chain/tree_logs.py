"""The logs that change an event's gate tree, and only those: one reader for the gate, the CLI
and the demo.

An event's Merkle tree of holder commitments changes on four logs of its ``TicketEvent``:
``TicketsIssued`` (a run of new leaves), ``Resold`` and ``CommitmentRotated`` (a leaf replaced),
and a burn, ``Transfer(from, 0x0, tokenId)`` (a leaf cleared). Every mint also emits a
``Transfer`` *from* the zero address, one per ticket: reading all transfers made rebuilding a
50,000-ticket tree read 50,000 logs it then ignored. Here the node is asked for burns only (the
``to`` topic pinned to zero in ``eth_getLogs``), and every log is decoded by
:class:`chain.logs.EventDecoder` (``eth_abi`` from a precomputed plan, not web3's generic decoder).

It is :class:`chain.events.EventReader` (chunks, confirmations, reorg rewinds, cursors) with those
filters. ``extra_events`` adds other events of the contract read in the same queries; with
``gate`` (the event's :class:`chain.ticket_gate.TicketGateClient`) they may also be the gate's
events about this event (the CLI's ``RootPublished``): the gate is shared by every event, so the
node is asked only for logs whose first topic is this event. Records come in chain order, ready
for :func:`zk.tree_sync.tree_from_events` or :class:`zk.tree_sync.TreeSync`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from eth_utils.address import to_checksum_address
from web3 import Web3

from chain.events import ZERO_TOPIC, Cursor, EventReader, EventRecord, TopicFilter
from chain.ticket_gate import TicketGateClient
from fairgate.settings import Settings

__all__ = ["BURNS_ONLY", "TREE_EVENTS", "address_topic", "read_tree_logs", "tree_log_reader"]

#: The events that write leaves (``Transfer`` only when it burns: see :data:`BURNS_ONLY`).
TREE_EVENTS = ("TicketsIssued", "Resold", "CommitmentRotated", "Transfer")
#: ``Transfer(from, to, tokenId)`` with ``to`` the zero address.
BURNS_ONLY: Mapping[str, TopicFilter] = {"Transfer": [None, ZERO_TOPIC]}


def tree_log_reader(
    w3: Web3,
    abi: Iterable[Mapping[str, Any]],
    address: str,
    *,
    start_block: int = 0,
    confirmations: int | None = None,
    chunk_size: int = 5_000,
    extra_events: Iterable[str] = (),
    gate: TicketGateClient | None = None,
    settings: Settings | None = None,
) -> EventReader:
    """A reader of one ``TicketEvent``'s tree-changing logs (plus ``extra_events``, of the event
    or of its ``gate``)."""
    extra = list(extra_events)
    abi = list(abi)
    addresses = [address]
    where = dict(BURNS_ONLY)
    if gate is not None:
        gate_abi = gate.event_abi(extra)
        abi += gate_abi
        addresses.append(gate.address)
        for entry in gate_abi:  # only this event's logs of the shared gate
            where[str(entry["name"])] = [address_topic(address)]
    return EventReader(
        w3,
        abi,
        addresses,
        start_block=start_block,
        confirmations=confirmations,
        chunk_size=chunk_size,
        event_names=[*TREE_EVENTS, *extra],
        where=where,
        settings=settings,
    )


def address_topic(address: str) -> bytes:
    """An address as an indexed topic (left-padded to 32 bytes)."""
    return b"\x00" * 12 + bytes.fromhex(to_checksum_address(address)[2:])


def read_tree_logs(
    w3: Web3,
    abi: Iterable[Mapping[str, Any]],
    address: str,
    *,
    start_block: int = 0,
    confirmations: int | None = 0,
    until_block: int | None = None,
    extra_events: Iterable[str] = (),
    gate: TicketGateClient | None = None,
    settings: Settings | None = None,
) -> tuple[list[EventRecord], Cursor | None]:
    """Every tree-changing log of ``address`` from ``start_block`` (up to ``until_block``)."""
    reader = tree_log_reader(
        w3,
        abi,
        address,
        start_block=start_block,
        confirmations=confirmations,
        extra_events=extra_events,
        gate=gate,
        settings=settings,
    )
    records, cursor = reader.read_all()
    if until_block is not None:
        records = [r for r in records if r["block_number"] <= until_block]
    return records, cursor
