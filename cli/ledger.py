"""Reading an event's history from the chain: its logs, the gate tree, and who holds what.

Everything here is rebuilt from contract events (the indexer's rule: state from events alone),
read through :class:`chain.events.EventReader` in chunks up to ``head - confirmations``.
:func:`read_tree_history` reads only what changes the gate tree (:mod:`chain.tree_logs`, the
reader the gate and the demo share), plus ``RootPublished``: enough to rebuild and publish the
tree without reading a ``Transfer`` per minted ticket.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field

from eth_utils.address import to_checksum_address

from chain.events import EventReader, EventRecord
from chain.ticket_event import TicketEventClient
from chain.ticket_gate import GATE_EVENTS, TicketGateClient
from chain.tree_logs import address_topic, tree_log_reader
from cli.output import err_console, progress
from cli.session import Session
from zk.tree import MerkleTree
from zk.tree_sync import tree_from_events

__all__ = ["History", "read_history", "read_tree_history"]


@dataclass
class History:
    """The decoded events of one event contract, in chain order."""

    events: list[EventRecord]
    last_block: int

    def named(self, *names: str) -> list[EventRecord]:
        return [e for e in self.events if e["event"] in names]

    def tree(self) -> MerkleTree:
        """The gate tree (current holder commitments), rebuilt from the events."""
        return tree_from_events(self.events)

    def holders_changed_since_root(self, root: int) -> bool:
        """Whether a resale, a commitment rotation or a burn happened after ``root`` was last
        published: then the root still holds a commitment that no longer belongs to its ticket.
        """
        published = [
            e["block_number"]
            for e in self.named("RootPublished")
            if int(str(e["args"]["root"]), 16) == root
        ]
        if not published:
            return False
        since = max(published)
        changes = self.named("Resold", "CommitmentRotated", "Transfer")
        return any(
            e["block_number"] >= since
            and (e["event"] != "Transfer" or int(str(e["args"]["to"]), 16) == 0)
            for e in changes
        )

    def tier_of_tokens(self) -> dict[int, int]:
        """token id -> tier id, from ``TicketsIssued``."""
        tiers: dict[int, int] = {}
        for record in self.named("TicketsIssued"):
            args = record["args"]
            first = int(args["firstTokenId"])
            for offset in range(len(args["commitments"])):
                tiers[first + offset] = int(args["tierId"])
        return tiers

    def received_by(self, holder: str) -> list[int]:
        """Tokens ever transferred to ``holder`` (still to be checked with ownerOf)."""
        me = to_checksum_address(holder)
        found = {
            int(r["args"]["tokenId"])
            for r in self.named("Transfer")
            if to_checksum_address(r["args"]["to"]) == me
        }
        return sorted(found)

    def sales(self, sender_of: Callable[[str], str] | None = None) -> SalesSummary:
        """Counts per tier (issued, resold, burned) and check-ins per gate: no identities.

        A gate is the account that anchored (or verified on-chain) the check-ins; ``sender_of``
        maps a transaction hash to its sender (the node is asked once per transaction).
        """
        summary = SalesSummary()
        senders: dict[str, str] = {}

        def gate_of(tx_hash: str) -> str:
            if sender_of is None:
                return "on-chain"
            if tx_hash not in senders:
                senders[tx_hash] = sender_of(tx_hash)
            return senders[tx_hash]

        tier_of = self.tier_of_tokens()
        for record in self.events:
            name, args = record["event"], record["args"]
            if name == "TicketsIssued":
                summary.issued[int(args["tierId"])] += len(args["commitments"])
            elif name == "Resold":
                counter = summary.gifted if int(args["price"]) == 0 else summary.resold
                counter[tier_of.get(int(args["tokenId"]), -1)] += 1
            elif name == "Transfer" and int(args["to"], 16) == 0:
                summary.burned[tier_of.get(int(args["tokenId"]), -1)] += 1
            elif name == "CheckedIn":
                summary.check_ins[(gate_of(record["tx_hash"]), "verified on-chain")] += 1
                summary.on_chain.add(_word(args["nullifier"]))
            elif name == "CheckInsAnchored":
                key = (gate_of(record["tx_hash"]), "anchored")
                summary.check_ins[key] += len(args["nullifiers"])
                summary.on_chain.update(_word(n) for n in args["nullifiers"])
        return summary


def _word(value: object) -> int:
    """A bytes32 log value (hex text or bytes) as a number."""
    if isinstance(value, bytes | bytearray):
        return int.from_bytes(value, "big")
    return int(str(value), 16)


@dataclass
class SalesSummary:
    issued: Counter[int] = field(default_factory=Counter)
    resold: Counter[int] = field(default_factory=Counter)  # paid resales (price > 0)
    gifted: Counter[int] = field(default_factory=Counter)  # gifts: resales at price 0
    on_chain: set[int] = field(default_factory=set)  # nullifiers checked in on-chain
    burned: Counter[int] = field(default_factory=Counter)
    check_ins: Counter[tuple[str, str]] = field(default_factory=Counter)


def read_history(
    session: Session, event: TicketEventClient, names: Iterable[str] | None = None
) -> History:
    """All events of ``event`` (or only ``names``) up to the confirmed head.

    Reading starts at the event's creation block when this machine recorded it. On a terminal,
    a progress bar follows the blocks read (a long-lived event spans many ``eth_getLogs`` chunks).
    """
    start = int(session.event_record(event.address).get("block", 0))
    # roots and check-ins are the platform's TicketGate's logs, this event's only
    gate = TicketGateClient.for_event(event)
    gate_abi = gate.event_abi(GATE_EVENTS if names is None else list(names))
    reader = EventReader(
        session.w3,
        [*event.artifact.abi, *gate_abi],
        [event.address, gate.address],
        start_block=start,
        event_names=names,
        where={str(e["name"]): [address_topic(event.address)] for e in gate_abi},
        settings=session.settings,
    )
    return _read(reader, start)


def read_tree_history(session: Session, event: TicketEventClient) -> History:
    """The events that change the gate tree (burns only among transfers) and ``RootPublished``:
    what ``History.tree`` and ``History.holders_changed_since_root`` need."""
    start = int(session.event_record(event.address).get("block", 0))
    reader = tree_log_reader(
        session.w3,
        event.artifact.abi,
        event.address,
        start_block=start,
        extra_events=("RootPublished",),
        gate=TicketGateClient.for_event(event),
        settings=session.settings,
    )
    return _read(reader, start)


def _read(reader: EventReader, start: int) -> History:
    head = reader.safe_head()
    events: list[EventRecord] = []
    last = start
    bar = progress() if err_console.is_terminal and head - start > reader.max_chunk else None
    with bar or nullcontext():
        task = bar.add_task("Reading chain events", total=head - start) if bar else None
        for batch in reader.batches(None):
            if batch.rewound_to is not None:
                events = [e for e in events if e["block_number"] <= batch.rewound_to]
            events.extend(batch.events)
            last = batch.cursor.block_number if batch.cursor else start
            if bar is not None and task is not None:
                bar.update(task, completed=max(0, last - start))
    return History(events, last)
