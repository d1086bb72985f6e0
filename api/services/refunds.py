"""Refunds: event cancellation and the provider side of refund_pending orders.

Cancelling an event: the contract is cancelled first (no more mints, resales or transfers: every
ticket's holder is now fixed), then every order is moved by :func:`settle_cancelled_event`: unpaid
reservations are cancelled, paid and minted ones become refund_pending. The worker's
:func:`refund_pending_orders` then refunds each through the provider (idempotency key = order id,
so a retry after a crash never refunds twice) and moves it to refunded (no tickets) or revoking
(tickets to burn, done by the minting worker).

The face value of every ticket goes back once, to its holder at the cancellation (issue 9, item 2),
however it was paid. For a card ticket, read on-chain:

* still held where the bridge delivered it (the payer's wallet, custody, or the wallet custody was
  claimed to): the card is refunded and the ticket revoked;
* sold for a price on the market: the face value held from its first sale pays its holder
  on-chain (``claimRefund``), and the card is refunded (the card payment no longer backs the
  ticket; also when the payer gave the ticket away before that sale: its seller then keeps what
  the sale paid it beyond the face value); the ticket is ``not_revocable``;
* given away (a gift or a plain transfer, never sold): the payer is not refunded; the ticket is
  ``given_away`` and :func:`fund_given_away_tickets` pays its face value into the contract's
  escrow (``fundGiftRefunds``) for its holder to claim, once the card payment can no longer be
  disputed (``card_dispute_days`` after it). A chargeback before that revokes the ticket instead
  (a gift never protects a ticket), so the face value still goes back once.

An order refunded for only some of its tickets gets a partial refund of their share of its amount.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from eth_utils.address import to_checksum_address
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from api.accounts import BridgeAccounts
from api.models import (
    Claim,
    Event,
    EventState,
    Order,
    OrderState,
    Ticket,
    TicketState,
    Tier,
    utcnow,
)
from api.payments.base import PaymentProvider
from api.services.catalog import mark_cancelled
from api.services.locks import WorkerLocks
from api.services.orders import locked_order, transition
from chain.erc20 import Erc20Client
from chain.sender import NonceManager, TransactionSender
from fairgate.errors import Conflict, ContractRevert, PaymentError, TicketError

log = logging.getLogger(__name__)
S = OrderState


def cancel_event(session: Session, chain: BridgeAccounts | None, event: Event) -> Event:
    if event.state == EventState.CANCELLED:
        return event
    if event.contract_address and chain is not None and not event.chain_cancelled:
        contract = chain.event(event.contract_address, chain.operator_sender)
        if not contract.cancelled():
            if contract.organizer() != chain.operator.address:
                raise Conflict(
                    "this event belongs to the organizer's wallet: cancel it on-chain with that "
                    "wallet (`fairgate organizer cancel`); the bridge refunds the card orders as "
                    "soon as it sees the cancellation"
                )
            contract.cancel()
        event.chain_cancelled = True
    mark_cancelled(session, event)
    session.commit()
    settle_cancelled_event(session, event.id)
    return event


def settle_cancelled_event(session: Session, event_id: int, limit: int = 500) -> int:
    """Move the orders of a cancelled event towards refunds; returns how many moved. Commits."""
    moved = 0
    while True:
        ids = session.scalars(
            select(Order.id)
            .where(Order.event_id == event_id, Order.state.in_([S.RESERVED, S.PAID, S.MINTED]))
            .limit(limit)
        ).all()
        if not ids:
            return moved
        for order_id in ids:
            order = locked_order(session, order_id=order_id)
            if order is None:
                continue
            if order.state == S.RESERVED:
                transition(session, order, S.CANCELLED, "event cancelled")
            elif order.state in (S.PAID, S.MINTED):
                transition(session, order, S.REFUND_PENDING, "event cancelled")
            moved += 1
        session.commit()


def settle_cancelled_events(session: Session) -> int:
    """Catch orders of cancelled events that were in flight at cancellation (a batch minting
    while the event was cancelled ends ``minted``): they are moved towards refunds too."""
    event_ids = session.scalars(
        select(Order.event_id)
        .join(Event, Event.id == Order.event_id)
        .where(Event.state == EventState.CANCELLED, Order.state.in_([S.RESERVED, S.PAID, S.MINTED]))
        .distinct()
    ).all()
    session.rollback()
    return sum(settle_cancelled_event(session, event_id) for event_id in event_ids)


def refund_pending_orders(
    session: Session, provider: PaymentProvider, chain: BridgeAccounts, limit: int = 50
) -> int:
    """Refund refund_pending orders through the provider; returns how many were refunded."""
    done = 0
    ids = session.scalars(
        select(Order.id).where(Order.state == S.REFUND_PENDING).limit(limit)
    ).all()
    for order_id in ids:
        order = locked_order(session, order_id=order_id)
        if order is None or order.state != S.REFUND_PENDING:
            session.rollback()
            continue
        try:
            if not order.provider_refunded and order.payment_ref:
                cents = _card_share(session, chain, order)
                if cents:
                    order.refund_ref = provider.refund(
                        session,
                        payment_ref=order.payment_ref,
                        order_id=order.id,
                        amount_cents=None if cents == order.amount_cents else cents,
                    )
                    order.provider_refunded = True
        except (PaymentError, TicketError) as exc:
            log.warning("refund of order %s failed, will retry: %s", order.id, exc.code)
            session.rollback()
            continue
        has_tickets = bool(order.tickets)
        given = sum(t.state == TicketState.GIVEN_AWAY for t in order.tickets)
        transition(
            session,
            order,
            S.REVOKING if has_tickets else S.REFUNDED,
            ("refunded through the provider" if order.provider_refunded else "nothing to refund")
            + ("; tickets to be revoked" if has_tickets else "")
            + (f"; {given} given away: refunded to their holders on-chain" if given else ""),
        )
        session.commit()
        done += 1
    return done


def _card_share(session: Session, chain: BridgeAccounts, order: Order) -> int:
    """The part of the order's amount to refund to the card: all of it, less the share of each
    ticket its payer gave away (marked ``given_away`` here, in the caller's transaction). The
    decision reads the chain, which no longer changes a cancelled event's holders."""
    tickets = [t for t in order.tickets if t.state == TicketState.ISSUED]
    if not tickets:
        return order.amount_cents
    event = session.get(Event, order.event_id)
    if event is None or event.state != EventState.CANCELLED or not event.contract_address:
        return order.amount_cents  # a payment returned for another reason: all of it
    # where the bridge delivered the order's tickets: the payer's wallet or custody, and the
    # wallets its custody tickets were claimed to (a claim may be recorded after its transaction)
    payer: set[str] = {
        to_checksum_address(a) for a in [order.wallet, *(t.holder for t in tickets)] if a
    }
    payer |= {
        to_checksum_address(a)
        for a in session.scalars(select(Claim.to_address).where(Claim.order_id == order.id))
    }
    given = [t for t in tickets if _given_away(chain, event.contract_address, t, payer)]
    for ticket in given:
        ticket.state = TicketState.GIVEN_AWAY
    kept = order.quantity - len(given)
    return order.amount_cents * kept // order.quantity


def _given_away(chain: BridgeAccounts, contract: str, ticket: Ticket, payer: set[str]) -> bool:
    """Held by someone other than the payer (``payer``: where the bridge delivered the order's
    tickets), and never sold for a price."""
    client = chain.event(contract)
    try:
        owner = client.owner_of(ticket.token_id)
    except ContractRevert:
        return False  # burned: refunded on-chain after a sale, or revoked
    if owner in payer:
        return False
    if client.paid_in_eth(ticket.token_id):
        return False  # its first sale's held price was settled into escrow: it was sold
    return client.held_sale(ticket.token_id).price == 0


def fund_given_away_tickets(
    sessions: sessionmaker[Session],
    chain: BridgeAccounts,
    locks: WorkerLocks,
    dispute_days: float,
    limit: int = 200,
) -> int:
    """Pay the face value of given-away card tickets into their contract's escrow (one
    ``fundGiftRefunds`` per event) once their card payments can no longer be disputed; returns how
    many were funded. Exactly once: the contract refuses a ticket already funded
    (``paidInEth``), which is also how a crash after the transaction is recognised."""
    cutoff = utcnow() - timedelta(days=dispute_days)
    with sessions() as session:
        rows = session.execute(
            select(Ticket, Event.contract_address, Tier.face_value_wei)
            .join(Order, Order.id == Ticket.order_id)
            .join(Event, Event.id == Ticket.event_id)
            .join(Tier, Tier.id == Ticket.tier_id)
            .where(
                Ticket.state == TicketState.GIVEN_AWAY,
                func.coalesce(Order.paid_at, Order.created_at) <= cutoff,
            )
            .order_by(Ticket.event_id, Ticket.token_id)
            .limit(limit)
            .with_for_update(of=Ticket, skip_locked=True)
        ).all()
        by_contract: dict[str, list[tuple[Ticket, int]]] = {}
        for ticket, contract, face in rows:
            if contract:  # a ticket exists only on a deployed event
                by_contract.setdefault(contract, []).append((ticket, int(face)))
        funded = 0
        for contract, tickets in by_contract.items():
            try:
                funded += _fund(chain, locks, contract, tickets)
            except TicketError as exc:
                log.warning(
                    "funding refunds of %s failed, will retry: %s: %s", contract, exc.code, exc
                )
                session.rollback()
                return funded
            session.commit()
        return funded


def _fund(
    chain: BridgeAccounts, locks: WorkerLocks, contract: str, tickets: list[tuple[Ticket, int]]
) -> int:
    client = chain.event(contract)
    send: list[tuple[Ticket, int]] = []
    for ticket, face in tickets:
        try:
            client.owner_of(ticket.token_id)
        except ContractRevert:
            ticket.state = TicketState.REVOKED  # burned: revoked after a chargeback
            continue
        if client.paid_in_eth(ticket.token_id):
            ticket.state = TicketState.REFUND_FUNDED  # funded before a crash
            continue
        send.append((ticket, face))
    if send:
        sender = chain.minter_sender
        total = sum(face for _, face in send)
        tx = client.fund_gift_refunds_tx([t.token_id for t, _ in send], total)
        token = client.token()  # a token event takes the face values from the minter's allowance
        with locks.sending(sender.address) as shared:
            if shared:
                NonceManager.reset(sender.chain, sender.address)
            if token is not None:
                _allow(token, sender, client.address, total)
            handle = sender.send(tx)
        sender.wait(handle)
        for ticket, _ in send:
            ticket.state = TicketState.REFUND_FUNDED
    return len(send)


def _allow(token: Erc20Client, sender: TransactionSender, event: str, total: int) -> None:
    """Let the event take ``total`` of its token from the minter (``fundGiftRefunds`` pulls it):
    exactly that much, approved and mined before the funding is estimated; nothing when the
    allowance already covers it. A minter short of the token is said in plain words."""
    currency = token.currency()
    held = token.balance_of(sender.address)
    if held < total:
        raise InsufficientToken(
            f"the minter {sender.address} holds {currency.format(held)}; the gift refunds of "
            f"{event} need {currency.format(total)}: send it {currency.symbol}"
        )
    if token.allowance(sender.address, event) >= total:
        return
    sender.wait(sender.send(token.approve_tx(event, total)))


class InsufficientToken(TicketError, RuntimeError):
    """The bridge's minter holds too little of an event's token to fund its gift refunds."""

    code = "insufficient_token"


def revoke_given_away(session: Session, order: Order) -> int:
    """A chargeback of an order whose given-away tickets are not funded yet: they are revoked
    instead (a gift never protects a ticket from its payer's chargeback). In the caller's
    transaction; returns how many."""
    result = session.execute(
        update(Ticket)
        .where(Ticket.order_id == order.id, Ticket.state == TicketState.GIVEN_AWAY)
        .values(state=TicketState.ISSUED)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
