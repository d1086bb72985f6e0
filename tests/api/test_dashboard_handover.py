"""The organizer hand-over's second step in the dashboard: an event proposed to the signed-in
wallet offers "accept"; the page then has the wallet send ``acceptOrganizer()``, after which the
wallet is the contract's organizer. Needs the two-step hand-over in TicketEvent (engineer
"gatechain"): skipped on a build without ``pendingOrganizer``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_helpers import create_event
from dashboard_helpers import PUBLIC_URL, between, sign_in
from eth_utils.abi import function_signature_to_4byte_selector
from fastapi.testclient import TestClient

from api.app import create_app
from api.services.auth import create_organizer
from chain.compiler import load_artifact
from chain.keys import dev_signer
from chain.sender import TransactionSender

pytestmark = [pytest.mark.postgres, pytest.mark.ganache]
TWO_STEP = any(e.get("name") == "pendingOrganizer" for e in load_artifact("TicketEvent").abi)


@pytest.fixture()
def web(settings, engine, db, bridge_chain, provider) -> Iterator[TestClient]:
    app = create_app(settings, engine=engine, provider=provider, chain=bridge_chain)
    with TestClient(app, base_url=PUBLIC_URL) as client:
        yield client


@pytest.mark.skipif(not TWO_STEP, reason="TicketEvent has no two-step organizer hand-over yet")
def test_the_proposed_wallet_accepts_from_the_dashboard(
    web: TestClient, db, dev_accounts, bridge_chain, w3, settings
) -> None:
    account = dev_accounts[11]
    with db() as session:
        _, key = create_organizer(session, "Two Step", account.address)
        session.commit()
    event = create_event(web, key, supply=5)
    who = sign_in(web, account)
    page = web.get(f"/dashboard/events/{event['id']}")
    assert 'id="accept"' in page.text
    r = web.post(f"/dashboard/events/{event['id']}/accept", data={"csrf_token": who["csrf"]})
    assert r.status_code == 200, r.text
    data = between(r.text, 'data-data="', '"')
    assert data == "0x" + function_signature_to_4byte_selector("acceptOrganizer()").hex()
    sender = TransactionSender(w3, dev_signer(11), settings=settings)
    sender.wait(sender.send({"to": event["contract_address"], "data": data}))
    assert bridge_chain.event(event["contract_address"]).organizer() == account.address
    assert 'id="accept"' not in web.get(f"/dashboard/events/{event['id']}").text
    assert "organizer_accept_signing" in web.get("/dashboard/audit.csv").text


def test_accepting_an_event_not_proposed_to_me_is_refused(web: TestClient, db, dev_accounts):
    account = dev_accounts[12]
    with db() as session:
        _, key = create_organizer(session, "Not Proposed", None)
        session.commit()
    event = create_event(web, key, supply=5)  # the operator keeps it: nobody proposed
    with db() as session:
        from api.models import Organizer

        session.get(Organizer, 1).payout_address = account.address
        session.commit()
    who = sign_in(web, account)
    assert 'id="accept"' not in web.get(f"/dashboard/events/{event['id']}").text
    r = web.post(f"/dashboard/events/{event['id']}/accept", data={"csrf_token": who["csrf"]})
    assert r.status_code == 409 and "not the wallet proposed" in r.json()["error"]["message"]
