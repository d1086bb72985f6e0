"""Burning the tickets of orders whose money went back (refund, chargeback, cancelled event).

Exactly once without extra bookkeeping: a token that no longer exists (``ownerOf`` reverts) was
already burned, by us before a crash or otherwise, and is recorded as revoked. A ticket sold for a
price on the market is never taken from its buyer (issue 9, items 1 and 2); it is recorded
``not_revocable`` and the order still ends ``revoked``:

* after a chargeback, while the face value of its first sale is still held by the contract,
  ``revoke`` does not burn it but pays that held face value into the ticket's escrow instead of to
  the seller (the organizer is made whole for the charged-back card); the bridge sends it for
  exactly that;
* otherwise (the event was cancelled: its holder claims the face value on-chain, while the bridge
  refunds the card; or the held face value was already paid out) the contract refuses with
  ``NotAuthorized`` or ``PaidInEth``, and nothing is sent.

Only ``issued`` tickets are revoked: a cancelled event's ticket its payer gave away
(``given_away``, see :mod:`api.services.refunds`) stays with its holder, unless a chargeback
sends it back to ``issued``.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.accounts import BridgeAccounts
from api.models import Event, Order, OrderState, Ticket, TicketState
from api.services.locks import WorkerLocks
from api.services.orders import transition
from chain.sender import NonceManager
from fairgate.errors import ContractRevert, TicketError

log = logging.getLogger(__name__)


def revoke_orders(
    sessions: sessionmaker[Session], chain: BridgeAccounts, locks: WorkerLocks, limit: int = 100
) -> int:
    with sessions() as session:
        orders = session.scalars(
            select(Order)
            .where(Order.state == OrderState.REVOKING)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        if not orders:
            return 0
        by_event: dict[int, list[Ticket]] = {}
        for order in orders:
            for ticket in order.tickets:
                if ticket.state == TicketState.ISSUED:
                    by_event.setdefault(ticket.event_id, []).append(ticket)
        for event_id, tickets in by_event.items():
            event = session.get(Event, event_id)
            assert event is not None and event.contract_address is not None
            try:
                _revoke(session, chain, locks, event.contract_address, tickets)
            except TicketError as exc:
                log.warning(
                    "revoking tickets of event %d failed, will retry: %s", event_id, exc.code
                )
                session.rollback()
                return 0
        for order in orders:
            transition(session, order, OrderState.REVOKED, "tickets revoked on-chain")
        session.commit()
        return len(orders)


def _revoke(
    session: Session,
    chain: BridgeAccounts,
    locks: WorkerLocks,
    contract: str,
    tickets: list[Ticket],
) -> None:
    burn: list[Ticket] = []
    kept: list[Ticket] = []  # sold on the market: revoke pays its held price to the organizer
    client = chain.event(contract)
    for ticket in tickets:
        try:
            client.owner_of(ticket.token_id)
        except ContractRevert:
            ticket.state = TicketState.REVOKED  # already burned
            continue
        try:
            client.check_revoke([ticket.token_id], sender=chain.minter.address)
            held_price = client.held_sale(ticket.token_id).price
            (kept if held_price else burn).append(ticket)
        except ContractRevert as exc:
            log.warning(
                "ticket %d of %s cannot be revoked: %s",
                ticket.token_id,
                contract,
                type(exc).__name__,
            )
            ticket.state = TicketState.NOT_REVOCABLE
    if burn or kept:
        sender = chain.minter_sender
        with locks.sending(sender.address) as shared:
            if shared:
                NonceManager.reset(sender.chain, sender.address)
            handle = sender.send(client.revoke_tx([t.token_id for t in burn + kept]))
        sender.wait(handle)
        for ticket in burn:
            ticket.state = TicketState.REVOKED
        for ticket in kept:
            log.info(
                "ticket %d of %s stays with its market buyer; the face value held from its sale "
                "went to the organizer's escrow",
                ticket.token_id,
                contract,
            )
            ticket.state = TicketState.NOT_REVOCABLE
