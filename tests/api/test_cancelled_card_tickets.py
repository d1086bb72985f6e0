"""A cancelled event's card tickets, through the bridge (issue 9, item 2), on real Ganache and
PostgreSQL: the face value of every ticket goes back exactly once, to whoever holds it at the
cancellation. The card is refunded for the tickets its payer still holds or sold (a sold
ticket's holder is refunded on-chain from the held price of its first sale); a ticket the payer
gave away is refunded to its holder on-chain with the bridge's funding, once the card payment can
no longer be disputed, and the payer's card is refunded only for the rest of the order."""

from __future__ import annotations

import pytest
from api_helpers import create_event, pay, place_order, read_order
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_e2e import make_worker
from web3 import Web3

from api.models import LocalPayment, Ticket, TicketState
from chain.keys import Signer
from chain.sender import TransactionSender
from chain.ticket_event import TicketEventClient
from fairgate.errors import ContractRevert

pytestmark = [pytest.mark.ganache, pytest.mark.postgres]

FACE = 10**15  # api_helpers' tiers
CAP = FACE * 11_000 // 10_000


def _client(w3: Web3, event: dict, account: LocalAccount) -> TicketEventClient:
    client = TicketEventClient(w3, event["contract_address"])
    resolved = client.with_sender(TransactionSender(w3, Signer.from_account(account, "fan")))
    assert isinstance(resolved, TicketEventClient)
    return resolved


def _gift(w3, event, token, giver, receiver) -> None:
    _client(w3, event, giver).gift(token, receiver.address)
    _client(w3, event, receiver).buy(token, 4242, price=0)


def _states(db, tokens) -> dict[int, TicketState]:
    with db() as session:
        rows = session.scalars(select(Ticket).where(Ticket.token_id.in_(tokens))).all()
        return {row.token_id: TicketState(row.state) for row in rows}


def _refunded_cents(db, order) -> tuple[int, int, str]:
    with db() as session:
        payment = session.get(LocalPayment, order["payment_ref"])
        return payment.refunded_cents, payment.amount_cents, payment.status


def _two_card_tickets(app_client, organizer_key, db, settings, bridge_chain, provider, fans, days):
    """Fan 0 pays two tickets by card to her wallet; the worker waits `days` for disputes."""
    event = create_event(app_client, organizer_key, supply=10)
    order = place_order(app_client, event, 2, fans[0].address)
    pay(app_client, order)
    worker = make_worker(
        settings.model_copy(update={"card_dispute_days": days}), db, bridge_chain, provider
    )
    worker.run(until_idle=True)
    first, second = (t["token_id"] for t in read_order(app_client, order)["tickets"])
    return event, order, worker, first, second


def _cancel(app_client, organizer_key, event) -> None:
    r = app_client.post(
        f"/organizer/events/{event['id']}/cancel", headers={"X-API-Key": organizer_key}
    )
    assert r.status_code == 200


def test_a_gifted_ticket_is_refunded_to_its_holder_and_the_card_only_for_the_rest(
    app_client: TestClient, organizer_key, db, settings, bridge_chain, provider, w3, fans
) -> None:
    event, order, worker, gifted, kept = _two_card_tickets(
        app_client, organizer_key, db, settings, bridge_chain, provider, fans, days=0
    )
    _gift(w3, event, gifted, fans[0], fans[1])
    _cancel(app_client, organizer_key, event)
    worker.run(until_idle=True)

    assert read_order(app_client, order)["state"] == "revoked"
    refunded, amount, status = _refunded_cents(db, order)
    assert (refunded, status) == (amount // 2, "succeeded")  # the kept ticket's share only
    assert _states(db, [gifted, kept]) == {
        gifted: TicketState.REFUND_FUNDED,
        kept: TicketState.REVOKED,
    }
    holder = _client(w3, event, fans[1])
    assert holder.paid_in_eth(gifted) and holder.escrow_balance() == FACE
    before = w3.eth.get_balance(fans[2].address)
    holder.claim_refund([gifted], to=fans[2].address)
    assert w3.eth.get_balance(fans[2].address) - before == FACE
    with pytest.raises(ContractRevert):  # claimed once
        holder.claim_refund([gifted])
    worker.run(until_idle=True)  # nothing more: no second funding, no second card refund
    assert _refunded_cents(db, order)[0] == amount // 2
    assert holder.escrow_balance() == 0
    # a chargeback now (after the dispute window) changes nothing the bridge can still do
    body, headers = provider.signed(
        "charge.dispute.created", {"id": "dp_late", "payment_intent": order["payment_ref"]}
    )
    outcome = app_client.post("/webhooks/local", content=body, headers=headers).json()["outcome"]
    assert outcome == "ignored: order already revoked"


def test_a_gift_is_funded_only_after_the_dispute_window_and_a_chargeback_revokes_it(
    app_client: TestClient, organizer_key, db, settings, bridge_chain, provider, w3, fans
) -> None:
    event, order, worker, gifted, kept = _two_card_tickets(
        app_client, organizer_key, db, settings, bridge_chain, provider, fans, days=120
    )
    _gift(w3, event, gifted, fans[0], fans[1])
    _cancel(app_client, organizer_key, event)
    worker.run(until_idle=True)

    assert read_order(app_client, order)["state"] == "revoked"
    assert _states(db, [gifted, kept]) == {
        gifted: TicketState.GIVEN_AWAY,
        kept: TicketState.REVOKED,
    }
    onchain = _client(w3, event, fans[1])
    assert not onchain.paid_in_eth(gifted) and onchain.escrow_balance() == 0  # not yet
    # the payer disputes the card payment instead: the gift does not protect the ticket
    body, headers = provider.signed(
        "charge.dispute.created", {"id": "dp_gift", "payment_intent": order["payment_ref"]}
    )
    outcome = app_client.post("/webhooks/local", content=body, headers=headers).json()["outcome"]
    assert outcome == "revoking"
    worker.run(until_idle=True)

    assert read_order(app_client, order)["state"] == "revoked"
    assert _states(db, [gifted])[gifted] == TicketState.REVOKED
    with pytest.raises(ContractRevert):
        onchain.owner_of(gifted)
    assert onchain.escrow_balance() == 0 and w3.eth.get_balance(onchain.address) == 0


def test_a_funding_sent_before_a_crash_is_recognised_not_sent_again(
    app_client: TestClient, organizer_key, db, settings, bridge_chain, provider, w3, fans
) -> None:
    event, _order, _, gifted, _kept = _two_card_tickets(
        app_client, organizer_key, db, settings, bridge_chain, provider, fans, days=120
    )
    _gift(w3, event, gifted, fans[0], fans[1])
    _cancel(app_client, organizer_key, event)
    waiting = make_worker(settings, db, bridge_chain, provider)  # 120 days (the default)
    waiting.run(until_idle=True)
    assert _states(db, [gifted])[gifted] == TicketState.GIVEN_AWAY
    # the worker's transaction went out, then it died before recording it
    minter = TicketEventClient(w3, event["contract_address"]).with_sender(
        bridge_chain.minter_sender
    )
    assert isinstance(minter, TicketEventClient)
    minter.fund_gift_refunds([gifted], FACE)
    worker = make_worker(
        settings.model_copy(update={"card_dispute_days": 0}), db, bridge_chain, provider
    )
    worker.run(until_idle=True)

    assert _states(db, [gifted])[gifted] == TicketState.REFUND_FUNDED
    assert minter.escrow_balance() == FACE  # funded once
    with pytest.raises(ContractRevert):  # and the contract would refuse a second funding
        minter.fund_gift_refunds([gifted], FACE)


def test_a_resold_then_gifted_ticket_refunds_the_card_and_its_holder_from_the_held_price(
    app_client: TestClient, organizer_key, db, settings, bridge_chain, provider, w3, fans
) -> None:
    event, order, worker, sold, kept = _two_card_tickets(
        app_client, organizer_key, db, settings, bridge_chain, provider, fans, days=0
    )
    _client(w3, event, fans[0]).list(sold, CAP)
    _client(w3, event, fans[1]).buy(sold, 777, price=CAP)
    _gift(w3, event, sold, fans[1], fans[2])
    _cancel(app_client, organizer_key, event)
    worker.run(until_idle=True)

    refunded, amount, status = _refunded_cents(db, order)
    assert (refunded, status) == (amount, "refunded")  # the payer sold it: the whole card
    assert _states(db, [sold, kept]) == {
        sold: TicketState.NOT_REVOCABLE,
        kept: TicketState.REVOKED,
    }
    holder = _client(w3, event, fans[2])
    before = w3.eth.get_balance(fans[3].address)
    holder.claim_refund([sold], to=fans[3].address)
    assert w3.eth.get_balance(fans[3].address) - before == FACE
    with pytest.raises(ContractRevert):
        holder.claim_refund([sold])
    assert holder.escrow_balance() == 0
