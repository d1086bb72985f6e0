"""Events created through the bridge belong to the organizer's own wallet.

The bridge sets the roles with its operator key, then proposes the organizer's wallet, which
accepts the event (two steps: nobody is made an event's organizer without consent). The bridge
keeps only the minter role, cannot cancel (the organizer's wallet does, on-chain, and the
bridge follows), and a malformed metadata base is refused before anything is deployed.
"""

from __future__ import annotations

from api_helpers import event_body, pay, place_order, read_order
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from test_e2e import make_worker
from web3 import Web3

from chain.keys import Signer
from chain.sender import TransactionSender
from chain.ticket_event import TicketEventClient
from chain.types import ROLE_MINTER


def test_the_organizer_wallet_owns_the_event_and_cancels_it(
    app_client: TestClient,
    organizer_key: str,
    db,
    settings,
    bridge_chain,
    provider,
    fans: list[LocalAccount],
    w3: Web3,
) -> None:
    owner = fans[4]
    body = event_body(10) | {
        "organizer_address": owner.address,
        "base_uri": "ipfs://bafyexample/tiers/",
    }
    r = app_client.post("/organizer/events", json=body, headers={"X-API-Key": organizer_key})
    assert r.status_code == 201, r.text
    event = r.json()
    onchain = TicketEventClient(w3, event["contract_address"])
    # two-step hand-over (issue 9 item 10): the bridge's operator keeps the event and proposes
    # the organizer's wallet, which accepts (`fairgate organizer accept`, or the dashboard)
    assert onchain.organizer() == bridge_chain.operator.address
    assert onchain.pending_organizer() == owner.address
    owner_sender = TransactionSender(w3, Signer.from_account(owner, "organizer"))
    onchain.with_sender(owner_sender).accept_organizer()
    assert (onchain.organizer(), onchain.pending_organizer()) == (owner.address, None)
    assert onchain.roles_of(bridge_chain.minter.address) & ROLE_MINTER

    # card orders still mint: the bridge kept its minter role
    order = place_order(app_client, event, 1, fans[1].address)
    pay(app_client, order)
    worker = make_worker(settings, db, bridge_chain, provider)
    worker.run(until_idle=True)
    assert read_order(app_client, order)["state"] == "minted"
    assert onchain.token_uri(0) == "ipfs://bafyexample/tiers/0"

    # the platform cannot cancel: a plain conflict, and nothing changes
    r = app_client.post(
        f"/organizer/events/{event['id']}/cancel", headers={"X-API-Key": organizer_key}
    )
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "conflict"
    assert "cancel it on-chain" in r.json()["error"]["message"]
    assert app_client.get(f"/events/{event['id']}").json()["state"] == "active"
    assert read_order(app_client, order)["state"] == "minted"

    # the organizer's wallet cancels on-chain; the bridge sees it and refunds the card order
    onchain.with_sender(owner_sender).cancel()
    worker.run(until_idle=True)
    assert app_client.get(f"/events/{event['id']}").json()["state"] == "cancelled"
    assert read_order(app_client, order)["state"] == "revoked"


def test_a_malformed_metadata_base_is_refused_before_deploying(
    app_client: TestClient, organizer_key: str, bridge_chain
) -> None:
    before = bridge_chain.factory().event_count()
    for bad in ("not a uri", "ipfs://no-trailing-slash", "javascript://x/"):
        r = app_client.post(
            "/organizer/events",
            json=event_body(5) | {"base_uri": bad},
            headers={"X-API-Key": organizer_key},
        )
        assert r.status_code == 422, (bad, r.text)
    assert bridge_chain.factory().event_count() == before
