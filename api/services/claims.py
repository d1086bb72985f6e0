"""Custody tickets claimed to a wallet the fan proved they control (EIP-191 signature).

The request only records the claim (``pending``); the worker moves each ticket with
``releaseFromCustody``. Exactly once: before sending, ``ownerOf`` tells whether the ticket already
left custody (a crash after the transaction), in which case the claim is just marked done.
"""

from __future__ import annotations

import logging
from typing import Literal

from eth_utils.address import to_checksum_address
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.accounts import BridgeAccounts
from api.errors import Forbidden, InvalidState
from api.models import Claim, Event, Order, OrderState, Ticket, TicketState
from api.schemas import ClaimCreate, ClaimOut
from api.security import claim_message, recover_signer
from api.services.locks import WorkerLocks
from chain.sender import NonceManager
from fairgate.errors import TicketError

log = logging.getLogger(__name__)


def request_claim(session: Session, order: Order, request: ClaimCreate) -> ClaimOut:
    wallet = to_checksum_address(request.wallet)
    signer = recover_signer(claim_message(order.id, wallet), request.signature)
    if signer is None or signer != wallet:
        raise Forbidden("the signature does not prove control of this wallet")
    if order.state != OrderState.MINTED:
        raise InvalidState("tickets can be claimed once the order is minted")
    custody = [t for t in order.tickets if t.custody and t.state == TicketState.ISSUED]
    existing = {
        c.ticket_id: c for c in session.scalars(select(Claim).where(Claim.order_id == order.id))
    }
    if not custody and not existing:
        raise InvalidState("this order has no tickets in custody")
    for ticket in custody:
        claim = existing.get(ticket.id)
        if claim is None:
            session.add(Claim(order_id=order.id, ticket_id=ticket.id, to_address=wallet))
        elif claim.to_address != wallet:
            raise InvalidState("these tickets are already being claimed to another wallet")
    session.commit()
    claims = list(session.scalars(select(Claim).where(Claim.order_id == order.id)))
    state: Literal["pending", "done", "failed"] = (
        "done" if all(c.state == "done" for c in claims) else "pending"
    )
    tickets = sorted(t.token_id for t in order.tickets if t.id in {c.ticket_id for c in claims})
    return ClaimOut(order_id=order.id, wallet=wallet, tickets=tickets, state=state)


def process_claims(
    sessions: sessionmaker[Session], chain: BridgeAccounts, locks: WorkerLocks, limit: int = 50
) -> int:
    done = 0
    with sessions() as session:
        claims = session.scalars(
            select(Claim)
            .where(Claim.state == "pending")
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for claim in claims:
            ticket = session.get(Ticket, claim.ticket_id)
            assert ticket is not None
            event = session.get(Event, ticket.event_id)
            assert event is not None and event.contract_address is not None
            try:
                contract = chain.event(event.contract_address)
                owner = contract.owner_of(ticket.token_id)
                if owner != to_checksum_address(claim.to_address):
                    sender = chain.custody_sender
                    with locks.sending(sender.address) as shared:
                        if shared:
                            NonceManager.reset(sender.chain, sender.address)
                        handle = sender.send(contract.release_tx(ticket.token_id, claim.to_address))
                    sender.wait(handle)
                    claim.tx_hash = handle.tx_hash
            except TicketError as exc:
                log.warning("claim %d failed: %s", claim.id, exc.code)
                claim.error = exc.code
                if exc.code != "chain_error":
                    claim.state = "failed"
                continue
            claim.state = "done"
            ticket.holder = to_checksum_address(claim.to_address)
            ticket.custody = False
            done += 1
        session.commit()
    return done
