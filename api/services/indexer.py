"""The indexer: follows each event contract's logs into the database, surviving reorgs.

The reading is :class:`chain.events.EventReader`'s (resumable, reorg-aware); the database is the
only cursor store. Per event the cursor is ``events.indexed_block`` and the block's hash
``events.indexed_block_hash``; one batch's effects and the new cursor are committed in one
transaction, so a crash re-reads at most one batch and nothing is counted twice.

Reorgs: when the cursor block's hash changes (a reorg deeper than ``confirmations``, or a
development chain reverted to a snapshot), the reader answers a *rewind* to ``reorg_depth`` blocks
below the cursor. What the indexer applied from blocks above that point is taken back from
``events.index_journal`` (per block: its hash, tickets minted per tier, of which bought with ETH,
tickets revoked and released, a cancellation), the journal entries are dropped, and the new
chain's events are read from there. A rewind before the deploy block starts the event over from
zero. The reader trusts the block it rewinds to; the journal's hashes of the blocks below it are
checked too, so a fork deeper than ``reorg_depth`` is still found when it changed a block the
indexer applied. The journal keeps only the last ``2 x reorg_depth`` blocks.

Re-applying is idempotent: a block already in the journal with the same hash is skipped, and the
ticket updates set values rather than add to them.

What it keeps: ``tiers.chain_minted`` (every ticket minted) and ``tiers.eth_minted`` (bought
with ETH on-chain: ``orderRef`` zero), which lowers the seats the bridge may sell; an
``EventCancelledBy`` seen on-chain cancels the event in the database and starts the card refunds;
``TicketRevoked`` and ``CustodyReleased`` update the ticket rows. A rewound revocation or release
re-reads the ticket from the chain. A rewound cancellation is only logged: card refunds, once
started, are not taken back (with ``confirmations`` set, such a reorg never reaches the bridge).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from eth_utils.address import to_checksum_address
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.accounts import BridgeAccounts
from api.models import Event, EventState, Ticket, TicketState, Tier
from api.services.catalog import mark_cancelled
from api.services.refunds import settle_cancelled_event
from chain.events import Cursor, EventRecord
from chain.ticket_event import TicketLogReader
from fairgate.errors import TicketError

log = logging.getLogger(__name__)
MAX_RANGE = 2_000  # blocks per eth_getLogs, capped by settings.rpc_max_log_blocks
ZERO_REF_HEX = "0x" + "00" * 32
WATCHED = ("EventCancelledBy", "TicketRevoked", "CustodyReleased")


def index_once(
    session: Session,
    chain: BridgeAccounts,
    *,
    reorg_depth: int | None = None,
    on_change: Callable[[int], None] | None = None,
) -> int:
    """One batch (or rewind) per event; returns the logs applied plus the rewinds done.
    ``reorg_depth``: blocks rewound on a fork (default ``settings.reorg_depth``).
    ``on_change(event_id)`` runs after each event whose state changed has committed (the
    worker drops that event's catalog cache: api.catalog_cache)."""
    if reorg_depth is None:
        reorg_depth = chain.settings.reorg_depth
    ids = session.scalars(
        select(Event.id)
        .where(Event.contract_address.is_not(None), Event.state != EventState.FAILED)
        .order_by(Event.id)
    ).all()
    session.rollback()
    applied = 0
    for event_id in ids:
        done = _index_event(session, chain, event_id, reorg_depth)
        if done and on_change is not None:
            on_change(event_id)
        applied += done
    return applied


def _reader(chain: BridgeAccounts, event: Event, reorg_depth: int) -> TicketLogReader:
    assert event.contract_address is not None
    return TicketLogReader(
        chain.w3,
        chain.event(event.contract_address).artifact.abi,
        event.contract_address,
        start_block=max(event.deploy_block, 0),
        chunk_size=MAX_RANGE,
        reorg_depth=reorg_depth,
        event_names=("TicketsIssued", *WATCHED),
        settings=chain.settings,
    )


def _cursor(chain: BridgeAccounts, event: Event) -> Cursor | None:
    if event.indexed_block < max(event.deploy_block, 0):
        return None
    if event.indexed_block_hash is None:  # indexed before hashes were kept: trust the block now
        block = chain.w3.eth.get_block(event.indexed_block)
        return Cursor(event.indexed_block, "0x" + bytes(block["hash"]).hex())
    return Cursor(event.indexed_block, event.indexed_block_hash)


def _index_event(session: Session, chain: BridgeAccounts, event_id: int, reorg_depth: int) -> int:
    # FOR NO KEY UPDATE, not FOR UPDATE: the lock keeps indexers apart without blocking the
    # foreign-key checks (FOR KEY SHARE) of orders being reserved for the event. FOR UPDATE
    # deadlocked with them: an order holds its tier's row and waits for the event's key share,
    # while the indexer holds the event and waits for the tier (seen with 2 replicas + workers)
    event = session.scalar(
        select(Event).where(Event.id == event_id).with_for_update(skip_locked=True, key_share=True)
    )
    if event is None or event.contract_address is None:
        session.rollback()
        return 0
    batch = _reader(chain, event, reorg_depth).next_batch(_cursor(chain, event))
    if batch is None:
        session.rollback()
        return 0
    journal: dict[str, Any] = dict(event.index_journal or {})
    cancelled = False
    cursor = batch.cursor
    if batch.rewound_to is not None:
        cursor = _deeper_fork(chain, event, journal, cursor)
        _rewind(session, chain, event, journal, -1 if cursor is None else cursor.block_number)
        applied = 1
    else:
        applied, cancelled = _apply(session, event, journal, batch.events)
    if cursor is None:  # start over from the deploy block
        event.indexed_block, event.indexed_block_hash = max(event.deploy_block, 0) - 1, None
    else:
        event.indexed_block = cursor.block_number
        event.indexed_block_hash = cursor.block_hash
    keep_above = event.indexed_block - 2 * reorg_depth  # the rewind's reach, and as deep below
    event.index_journal = {k: v for k, v in journal.items() if int(k) > keep_above} or None
    if cancelled and event.state != EventState.CANCELLED:
        log.info("event %d was cancelled on-chain", event.id)
        mark_cancelled(session, event)
    if cancelled:
        event.chain_cancelled = True
    session.commit()
    if cancelled:
        settle_cancelled_event(session, event_id)
    return applied


def _deeper_fork(
    chain: BridgeAccounts, event: Event, journal: Mapping[str, Any], cursor: Cursor | None
) -> Cursor | None:
    """The reader rewinds a fixed depth and trusts the block it lands on. The journal knows the
    hashes of the blocks it applied: one of them at or below that point with another hash now
    means a deeper fork, so rewind below it (each such block costs one read, on rewinds only)."""
    if cursor is None:
        return None
    target = cursor.block_number
    for number in sorted((int(k) for k in journal), reverse=True):
        if number > target:
            continue
        block = chain.w3.eth.get_block(number)
        if "0x" + bytes(block["hash"]).hex() != journal[str(number)]["hash"]:
            target = number - 1
    if target == cursor.block_number:
        return cursor
    log.warning("event %d: the fork is deeper than the rewind; back to block %d", event.id, target)
    if target < max(event.deploy_block, 0):
        return None
    block = chain.w3.eth.get_block(target)
    return Cursor(target, "0x" + bytes(block["hash"]).hex())


def _apply(
    session: Session, event: Event, journal: dict[str, Any], records: Sequence[EventRecord]
) -> tuple[int, bool]:
    """Apply a batch's events; returns (logs applied, whether a cancellation was among them)."""
    by_block: dict[int, list[EventRecord]] = defaultdict(list)
    for record in records:
        by_block[record["block_number"]].append(record)
    minted: dict[int, int] = defaultdict(int)
    eth: dict[int, int] = defaultdict(int)
    applied = 0
    cancelled = False
    for number, block_records in sorted(by_block.items()):
        entry = journal.get(str(number))
        if entry is not None and entry["hash"] == block_records[0]["block_hash"]:
            continue  # applied already (idempotent re-read)
        entry = {"hash": block_records[0]["block_hash"], "minted": {}, "eth": {}}
        for record in block_records:
            args = record["args"]
            name = record["event"]
            if name == "TicketsIssued":
                tier, n = int(args["tierId"]), int(args["count"])
                minted[tier] += n
                entry["minted"][str(tier)] = entry["minted"].get(str(tier), 0) + n
                if args["orderRef"] == ZERO_REF_HEX:
                    eth[tier] += n
                    entry["eth"][str(tier)] = entry["eth"].get(str(tier), 0) + n
            elif name == "EventCancelledBy":
                cancelled = True
                entry["cancelled"] = True
            elif name == "TicketRevoked":
                token_id = int(args["tokenId"])
                session.execute(
                    update(Ticket)
                    .where(Ticket.event_id == event.id, Ticket.token_id == token_id)
                    .values(state=TicketState.REVOKED)
                )
                entry.setdefault("tickets", []).append(token_id)
            elif name == "CustodyReleased":
                token_id = int(args["tokenId"])
                session.execute(
                    update(Ticket)
                    .where(Ticket.event_id == event.id, Ticket.token_id == token_id)
                    .values(holder=to_checksum_address(args["to"]), custody=False)
                )
                entry.setdefault("tickets", []).append(token_id)
            applied += 1
        journal[str(number)] = entry
    _add_to_tiers(session, event, minted, eth, sign=1)
    return applied, cancelled


def _add_to_tiers(
    session: Session,
    event: Event,
    minted: Mapping[int, int],
    eth: Mapping[int, int],
    *,
    sign: int,
) -> None:
    tiers = {t.tier_index: t.id for t in event.tiers}
    for tier_index, n in minted.items():
        tier_id = tiers.get(tier_index)
        if tier_id is None or n == 0:
            continue
        session.execute(
            update(Tier)
            .where(Tier.id == tier_id)
            .values(
                chain_minted=Tier.chain_minted + sign * n,
                eth_minted=Tier.eth_minted + sign * eth.get(tier_index, 0),
            )
        )


def _rewind(
    session: Session, chain: BridgeAccounts, event: Event, journal: dict[str, Any], to_block: int
) -> None:
    """Take back what was applied from blocks above ``to_block`` (all, before the deploy)."""
    restart = to_block < max(event.deploy_block, 0)
    gone = sorted(int(k) for k in journal if restart or int(k) > to_block)
    minted: dict[int, int] = defaultdict(int)
    eth: dict[int, int] = defaultdict(int)
    tickets: set[int] = set()
    for number in gone:
        entry = journal.pop(str(number))
        for tier, n in entry.get("minted", {}).items():
            minted[int(tier)] += int(n)
        for tier, n in entry.get("eth", {}).items():
            eth[int(tier)] += int(n)
        tickets.update(int(t) for t in entry.get("tickets", ()))
        if entry.get("cancelled"):
            log.error(
                "event %d: the cancellation seen in block %d was reorged away; the bridge keeps "
                "the event cancelled (card refunds are not taken back)",
                event.id,
                number,
            )
    if restart:
        journal.clear()
        session.execute(
            update(Tier).where(Tier.event_id == event.id).values(chain_minted=0, eth_minted=0)
        )
    else:
        _add_to_tiers(session, event, minted, eth, sign=-1)
    for token_id in sorted(tickets):
        _resync_ticket(session, chain, event, token_id)
    log.warning(
        "event %d: reorg, rewound to block %d (%d journaled blocks taken back%s)",
        event.id,
        to_block,
        len(gone),
        ", starting over" if restart else "",
    )


def _resync_ticket(session: Session, chain: BridgeAccounts, event: Event, token_id: int) -> None:
    """A ticket whose revocation or release was reorged away: read it from the chain again."""
    assert event.contract_address is not None
    try:
        owner = chain.event(event.contract_address).owner_of(token_id)
    except TicketError:  # burned (or never minted on this chain)
        values: dict[str, Any] = {"state": TicketState.REVOKED}
    else:
        values = {"holder": owner, "custody": owner == chain.custody.address}
        ticket = session.scalar(
            select(Ticket).where(Ticket.event_id == event.id, Ticket.token_id == token_id)
        )
        if ticket is not None and ticket.state == TicketState.REVOKED:
            values["state"] = TicketState.ISSUED
    session.execute(
        update(Ticket)
        .where(Ticket.event_id == event.id, Ticket.token_id == token_id)
        .values(**values)
    )


def head_lag(session: Session, chain: BridgeAccounts) -> int:
    """Blocks between the chain's head and the oldest cursor of the events being indexed
    (0 when there is none): how far behind the chain the bridge's view of it is."""
    lowest = session.scalar(
        select(func.min(Event.indexed_block)).where(
            Event.contract_address.is_not(None), Event.state != EventState.FAILED
        )
    )
    session.rollback()
    if lowest is None:
        return 0
    return max(0, int(chain.w3.eth.block_number) - int(lowest))
