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
filters. ``extra_events`` adds other events of the contract read in the same queries (the CLI's
``RootPublished``). Records come in chain order, ready for :func:`zk.tree_sync.tree_from_events`
or :class:`zk.tree_sync.TreeSync`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from web3 import Web3

from chain.events import ZERO_TOPIC, Cursor, EventReader, EventRecord, TopicFilter
from fairgate.settings import Settings

__all__ = ["BURNS_ONLY", "TREE_EVENTS", "read_tree_logs", "tree_log_reader"]

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
    settings: Settings | None = None,
) -> EventReader:
    """A reader of one ``TicketEvent``'s tree-changing logs (plus ``extra_events``)."""
    return EventReader(
        w3,
        abi,
        address,
        start_block=start_block,
        confirmations=confirmations,
        chunk_size=chunk_size,
        event_names=[*TREE_EVENTS, *extra_events],
        where=BURNS_ONLY,
        settings=settings,
    )


def read_tree_logs(
    w3: Web3,
    abi: Iterable[Mapping[str, Any]],
    address: str,
    *,
    start_block: int = 0,
    confirmations: int | None = 0,
    until_block: int | None = None,
    extra_events: Iterable[str] = (),
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
        settings=settings,
    )
    records, cursor = reader.read_all()
    if until_block is not None:
        records = [r for r in records if r["block_number"] <= until_block]
    return records, cursor
