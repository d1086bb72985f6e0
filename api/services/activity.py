"""Each event's on-chain activity, read from its contract's logs for the dashboard's analytics.

:func:`follow` reads what is new since the event's :class:`~api.models.ActivityCursor` through
:class:`chain.events.EventReader` (resumable, reorg-aware) and appends one
:class:`~api.models.ChainActivity` row per log, with the block's time. A rewind (reorg) deletes
the rows above the fork point, which are then read again from the new chain. Rows are unique per
(event, transaction, log index), so two followers racing (two dashboard tabs, two web workers)
cannot count a log twice: the loser's insert is skipped.

Kinds: ``card_sale`` (TicketsIssued with a bridge order ref), ``eth_sale`` (order ref zero: bought
with ETH from the contract), ``resale`` (Resold: price and royalty), ``revoked``, ``refund``
(RefundClaimed), ``cancelled`` (EventCancelledBy).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from eth_utils.address import to_checksum_address
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.accounts import BridgeAccounts
from api.models import ActivityCursor, ChainActivity, Event, utcnow
from chain.events import Cursor, EventRecord
from chain.ticket_event import TicketLogReader

log = logging.getLogger(__name__)
ZERO_REF = "0x" + "00" * 32
NAMES = ("TicketsIssued", "Resold", "TicketRevoked", "RefundClaimed", "EventCancelledBy")


def _reader(chain: BridgeAccounts, event: Event) -> TicketLogReader:
    assert event.contract_address is not None
    return TicketLogReader(
        chain.w3,
        chain.event(event.contract_address).artifact.abi,
        event.contract_address,
        start_block=max(event.deploy_block, 0),
        event_names=NAMES,
        settings=chain.settings,
    )


def follow(session: Session, chain: BridgeAccounts, event_id: int, max_batches: int = 20) -> int:
    """Read the event's new logs into ``chain_activity``; the number of rows added."""
    event = session.get(Event, event_id)
    if event is None or event.contract_address is None:
        return 0
    row = session.get(ActivityCursor, event_id)
    cursor = Cursor(row.block_number, row.block_hash) if row is not None else None
    reader = _reader(chain, event)
    added = 0
    times: dict[int, datetime] = {}
    for _ in range(max_batches):
        batch = reader.next_batch(cursor)
        if batch is None:
            break
        if batch.rewound_to is not None:
            session.execute(
                delete(ChainActivity).where(
                    ChainActivity.event_id == event_id,
                    ChainActivity.block_number > batch.rewound_to,
                )
            )
        rows = [_row(event_id, record, _time(chain, record, times)) for record in batch.events]
        added += _insert(session, rows)
        cursor = batch.cursor
        if cursor is None:
            session.execute(delete(ActivityCursor).where(ActivityCursor.event_id == event_id))
        else:
            session.merge(
                ActivityCursor(
                    event_id=event_id,
                    block_number=cursor.block_number,
                    block_hash=cursor.block_hash,
                )
            )
        session.commit()
    return added


def _time(chain: BridgeAccounts, record: EventRecord, cache: dict[int, datetime]) -> datetime:
    number = record["block_number"]
    if number not in cache:
        block = chain.w3.eth.get_block(number)
        cache[number] = datetime.fromtimestamp(int(block["timestamp"]), UTC)
    return cache[number]


def _row(event_id: int, record: EventRecord, when: datetime) -> ChainActivity:
    args = record["args"]
    common: dict[str, Any] = {
        "event_id": event_id,
        "block_number": record["block_number"],
        "block_time": when,
        "tx_hash": record["tx_hash"],
        "log_index": record["log_index"],
        "seen_at": utcnow(),
    }
    name = record["event"]
    if name == "TicketsIssued":
        card = args["orderRef"] != ZERO_REF
        return ChainActivity(
            kind="card_sale" if card else "eth_sale",
            tier_index=int(args["tierId"]),
            quantity=int(args["count"]),
            token_id=int(args["firstTokenId"]),
            buyer=args["holder"],
            order_ref=args["orderRef"] if card else None,
            **common,
        )
    if name == "Resold":
        return ChainActivity(
            kind="resale",
            token_id=int(args["tokenId"]),
            price_wei=str(int(args["price"])),
            royalty_wei=str(int(args["royalty"])),
            seller=to_checksum_address(args["seller"]),
            buyer=to_checksum_address(args["buyer"]),
            **common,
        )
    if name == "RefundClaimed":
        return ChainActivity(
            kind="refund",
            token_id=int(args["tokenId"]),
            price_wei=str(int(args["amount"])),
            seller=to_checksum_address(args["holder"]),
            **common,
        )
    if name == "TicketRevoked":
        return ChainActivity(kind="revoked", token_id=int(args["tokenId"]), **common)
    return ChainActivity(kind="cancelled", quantity=0, **common)


def _insert(session: Session, rows: list[ChainActivity]) -> int:
    """Add rows one by one under a savepoint: a row another follower already wrote is skipped."""
    added = 0
    for row in rows:
        exists = session.scalar(
            select(ChainActivity.id).where(
                ChainActivity.event_id == row.event_id,
                ChainActivity.tx_hash == row.tx_hash,
                ChainActivity.log_index == row.log_index,
            )
        )
        if exists is not None:
            continue
        try:
            with session.begin_nested():
                session.add(row)
            added += 1
        except IntegrityError:
            log.debug("activity row %s:%d written by another follower", row.tx_hash, row.log_index)
    return added
