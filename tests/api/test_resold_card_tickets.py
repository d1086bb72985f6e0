"""Card tickets resold on the market, through the bridge (issue 9, items 1 and 2), on real
Ganache and PostgreSQL: a cancellation refunds the card once and never takes the ticket from its
market buyer, who claims the face value on-chain; a chargeback leaves the ticket with its market
buyer and pays the held price of its first sale to the organizer."""

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
from chain.types import HeldSale

pytestmark = [pytest.mark.ganache, pytest.mark.postgres]

FACE = 10**15  # api_helpers' tiers
CAP = FACE * 11_000 // 10_000
ROYALTY_BPS = 500  # api_helpers' tiers


def _client(w3: Web3, event: dict, account: LocalAccount) -> TicketEventClient:
    client = TicketEventClient(w3, event["contract_address"])
    sender = TransactionSender(w3, Signer.from_account(account, "fan"))
    resolved = client.with_sender(sender)
    assert isinstance(resolved, TicketEventClient)
    return resolved


def _resold_card_ticket(app_client, organizer_key, db, settings, bridge_chain, provider, w3, fans):
    """Fan 0 pays two tickets by card; fan 1 buys the first on the market at the cap."""
    event = create_event(app_client, organizer_key, supply=10)
    order = place_order(app_client, event, 2, fans[0].address)
    pay(app_client, order)
    worker = make_worker(settings, db, bridge_chain, provider)
    worker.run(until_idle=True)
    sold, kept = (t["token_id"] for t in read_order(app_client, order)["tickets"])
    _client(w3, event, fans[0]).list(sold, CAP)
    _client(w3, event, fans[1]).buy(sold, 12345, price=CAP)
    return event, order, worker, sold, kept


def _ticket_states(db, tokens):
    with db() as session:
        rows = session.scalars(select(Ticket).where(Ticket.token_id.in_(tokens))).all()
        return {row.token_id: TicketState(row.state) for row in rows}


def test_cancellation_refunds_the_card_once_and_the_market_buyer_on_chain(
    app_client: TestClient, organizer_key, db, settings, bridge_chain, provider, w3, fans
) -> None:
    event, order, worker, sold, kept = _resold_card_ticket(
        app_client, organizer_key, db, settings, bridge_chain, provider, w3, fans
    )
    r = app_client.post(
        f"/organizer/events/{event['id']}/cancel", headers={"X-API-Key": organizer_key}
    )
    assert r.status_code == 200
    worker.run(until_idle=True)

    assert read_order(app_client, order)["state"] == "revoked"
    with db() as session:
        payment = session.get(LocalPayment, order["payment_ref"])
        assert payment.status == "refunded" and payment.refunded_cents == payment.amount_cents
    # the unsold ticket is burned, the resold one stays with its market buyer
    assert _ticket_states(db, [sold, kept]) == {
        sold: TicketState.NOT_REVOCABLE,
        kept: TicketState.REVOKED,
    }
    buyer = _client(w3, event, fans[1])
    assert buyer.owner_of(sold) == fans[1].address
    # the fan page offers the market buyer the on-chain refund
    held = app_client.get(f"/events/{event['id']}/holders/{fans[1].address}").json()["tickets"]
    assert [(t["token_id"], t["paid_in_eth"], t["refundable"]) for t in held] == [
        (sold, False, True)
    ]
    before = w3.eth.get_balance(fans[2].address)
    refund = buyer.claim_refund([sold], to=fans[2].address)  # to a named recipient
    assert [int(e.args["amount"]) for e in refund.named("RefundClaimed")] == [FACE]
    assert w3.eth.get_balance(fans[2].address) - before == FACE
    worker.run(until_idle=True)  # nothing more to do: no second card refund
    assert read_order(app_client, order)["state"] == "revoked"


def test_a_chargeback_leaves_the_market_buyer_the_ticket_and_pays_the_organizer(
    app_client: TestClient, organizer_key, db, settings, bridge_chain, provider, w3, fans
) -> None:
    event, order, worker, sold, kept = _resold_card_ticket(
        app_client, organizer_key, db, settings, bridge_chain, provider, w3, fans
    )
    onchain = _client(w3, event, fans[1])
    assert onchain.held_sale(sold) == HeldSale(fans[0].address, FACE)  # its face value is held
    body, headers = provider.signed(
        "charge.dispute.created", {"id": "dp_resold", "payment_intent": order["payment_ref"]}
    )
    assert app_client.post("/webhooks/local", content=body, headers=headers).json()["outcome"] == (
        "revoking"
    )
    worker.run(until_idle=True)

    assert read_order(app_client, order)["state"] == "revoked"
    assert _ticket_states(db, [sold, kept]) == {
        sold: TicketState.NOT_REVOCABLE,
        kept: TicketState.REVOKED,
    }
    assert onchain.owner_of(sold) == fans[1].address
    assert onchain.held_sale(sold).price == 0
    # the organizer has the lost face value back as escrow, and the royalty of the price above
    # it; the seller kept the rest of that (a pull balance), which the cap bounds
    royalty = CAP * ROYALTY_BPS // 10_000 - FACE * ROYALTY_BPS // 10_000
    assert onchain.royalty_balance() == royalty
    assert onchain.escrow_balance() == FACE
    assert onchain.pending_of(fans[0].address) == CAP - FACE - royalty
