"""The indexer: follows each event contract's logs into the database.

Per event, a cursor (``events.indexed_block``) advances over block ranges up to
``head - confirmations``; a range's effects and the cursor move in one transaction, so a crash
re-reads at most one range and nothing is counted twice. With ``confirmations`` > 0, a reorg
shallower than that never reaches the database (deeper reorgs need chain.events' reorg handling;
swap it in when it lands).

What it keeps: ``tiers.chain_minted`` (every ticket minted) and ``tiers.eth_minted`` (bought
with ETH on-chain: ``orderRef`` zero), which lowers the seats the bridge may sell; an
``EventCancelledBy`` seen on-chain cancels the event in the database and starts the card refunds;
``TicketRevoked`` and ``CustodyReleased`` update the ticket rows.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from eth_utils.address import to_checksum_address
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.chain import BridgeChain
from api.models import Event, EventState, Ticket, TicketState, Tier
from api.services.catalog import mark_cancelled
from api.services.refunds import settle_cancelled_event

log = logging.getLogger(__name__)
MAX_RANGE = 2_000
ZERO_REF_HEX = "0x" + "00" * 32
WATCHED = ("EventCancelledBy", "TicketRevoked", "CustodyReleased")


def index_once(session: Session, chain: BridgeChain) -> int:
    """Advance every event's cursor by at most one range; returns the logs applied."""
    head = int(chain.w3.eth.block_number) - chain.settings.confirmations
    applied = 0
    events = session.scalars(
        select(Event).where(Event.contract_address.is_not(None), Event.indexed_block < head)
    ).all()
    for event in events:
        applied += _index_event(session, chain, event.id, head)
    return applied


def _index_event(session: Session, chain: BridgeChain, event_id: int, head: int) -> int:
    event = session.scalar(
        select(Event).where(Event.id == event_id).with_for_update(skip_locked=True)
    )
    if event is None or event.contract_address is None:
        session.rollback()
        return 0
    start = event.indexed_block + 1
    end = min(head, start + MAX_RANGE - 1)
    issued, logs = chain.logs_for_indexer(event.contract_address, start, end, WATCHED)
    tiers = {t.tier_index: t for t in event.tiers}
    minted: dict[int, int] = defaultdict(int)
    eth: dict[int, int] = defaultdict(int)
    for run in issued:
        minted[run.tier_id] += len(run.commitments)
        if run.order_ref == ZERO_REF_HEX:
            eth[run.tier_id] += len(run.commitments)
    for tier_index, n in minted.items():
        tier = tiers.get(tier_index)
        if tier is not None:
            session.execute(
                update(Tier)
                .where(Tier.id == tier.id)
                .values(
                    chain_minted=Tier.chain_minted + n, eth_minted=Tier.eth_minted + eth[tier_index]
                )
            )
    cancelled = False
    for log_event in logs:
        args = log_event.args
        if log_event.name == "EventCancelledBy":
            cancelled = True
        elif log_event.name == "TicketRevoked":
            session.execute(
                update(Ticket)
                .where(Ticket.event_id == event.id, Ticket.token_id == int(args["tokenId"]))
                .values(state=TicketState.REVOKED)
            )
        elif log_event.name == "CustodyReleased":
            session.execute(
                update(Ticket)
                .where(Ticket.event_id == event.id, Ticket.token_id == int(args["tokenId"]))
                .values(holder=to_checksum_address(args["to"]), custody=False)
            )
    event.indexed_block = end
    if cancelled and event.state != EventState.CANCELLED:
        log.info("event %d was cancelled on-chain", event.id)
        event.chain_cancelled = True
        mark_cancelled(session, event)
    elif cancelled:
        event.chain_cancelled = True
    session.commit()
    if cancelled:
        settle_cancelled_event(session, event.id)
    return len(issued) + len(logs)
