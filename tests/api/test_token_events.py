"""Events in a stablecoin created by the bridge (issue 14), on real Ganache and PostgreSQL with the
dev chain's test stablecoin (``contracts/dev/TestStablecoin.sol``, FUSD, 6 decimals, what
``fairgate dev up`` deploys and ``fairgate dev faucet`` mints): the currency is checked on the
chain before anything is recorded, prices show in the token's units, and the face value of a
given-away card ticket is paid into escrow in the token, with the minter's approval."""

from __future__ import annotations

import logging
import secrets
from typing import Any

import pytest
from api_helpers import event_body, pay, place_order, read_order
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_cancelled_card_tickets import _client, _gift
from test_e2e import make_worker
from web3 import Web3

from api.models import Event, Ticket, TicketState
from api.schemas import FIELD_MODULUS
from api.services import activity, analytics
from chain import abi
from chain.deploy import TEST_STABLECOIN, deploy_contract
from chain.erc20 import Erc20Client
from chain.keys import Signer, dev_signer
from chain.sender import TransactionSender
from chain.ticket_event import TicketEventClient

pytestmark = [pytest.mark.ganache, pytest.mark.postgres]

FACE = "12.5"  # FUSD
UNITS = 12_500_000


def _token(w3: Web3, name: str, symbol: str, decimals: int) -> str:
    sender = TransactionSender(w3, dev_signer(0))
    address, _, _ = deploy_contract(sender, abi.artifact("TestStablecoin"), name, symbol, decimals)
    return address


@pytest.fixture(scope="module")
def fusd(w3: Web3) -> str:
    """The test stablecoin, as ``fairgate dev up`` deploys it."""
    return _token(w3, *TEST_STABLECOIN)


def _faucet(w3: Web3, token: str, to: str, amount: int) -> None:
    """``fairgate dev faucet``: anyone mints the test stablecoin."""
    Erc20Client(w3, token, TransactionSender(w3, dev_signer(0))).mint(to, amount)


def _body(currency: str, *, face: str = FACE, supply: int = 10) -> dict[str, Any]:
    body = event_body(supply)
    body["chain_currency"] = currency
    for tier in body["tiers"]:
        del tier["face_value_wei"]
        tier["face_value"] = face
    return body


def _create(client: TestClient, key: str, body: dict[str, Any]) -> Any:
    return client.post("/organizer/events", json=body, headers={"X-API-Key": key})


def test_an_event_in_the_stablecoin_prices_everything_in_it(
    app_client: TestClient,
    organizer_key: str,
    fusd: str,
    w3: Web3,
    fans: list[LocalAccount],
    db,
    settings,
    bridge_chain,
    provider,
) -> None:
    r = _create(app_client, organizer_key, _body(fusd))
    assert r.status_code == 201, r.text
    event = r.json()
    assert event["chain_currency"] == {"address": fusd, "symbol": "FUSD", "decimals": 6}
    (tier,) = event["tiers"]
    assert (tier["face_value"], tier["face_value_wei"]) == (FACE, str(UNITS))
    assert (tier["price_cents"], tier["currency"]) == (5000, "usd")  # the card price is fiat

    onchain = TicketEventClient(w3, event["contract_address"])
    assert onchain.currency_address() == fusd
    assert onchain.tiers()[0].face_value == UNITS

    chain_view = app_client.get(f"/events/{event['id']}/chain").json()
    assert chain_view["currency"] == {"address": fusd, "symbol": "FUSD", "decimals": 6}
    assert chain_view["tiers"][0]["face_value_wei"] == str(UNITS)
    page = app_client.get(f"/event/{event['id']}").text
    assert "12.5 FUSD" in page and "13.75 FUSD (110%" in page  # face value, resale cap
    assert "Buy with FUSD" in page and " ETH" not in page.replace("ETH buyers", "")

    # a fan buys two on-chain with FUSD (a permit signed by the typed client): the bridge's
    # indexer counts them as on-chain sales, and the dashboard's revenue is in FUSD
    fan = fans[3]
    _faucet(w3, fusd, fan.address, 2 * UNITS)
    buyer = TicketEventClient(
        w3, event["contract_address"], TransactionSender(w3, Signer.from_account(fan, "fan"))
    )
    buyer.purchase(0, [secrets.randbelow(FIELD_MODULUS - 1) + 1 for _ in range(2)])
    make_worker(settings, db, bridge_chain, provider).run(until_idle=True)  # the indexer
    with db() as session:
        activity.follow(session, bridge_chain, event["id"])  # as the dashboard's live page does
        row = session.get(Event, event["id"])
        assert row is not None and row.settlement.symbol == "FUSD"
        figures = analytics.stats(session, row)
    assert figures["currency"] == "FUSD" and figures["revenue"]["eth_primary"] == 25.0
    assert figures["sales"]["eth"][-1] == 2
    assert app_client.get(f"/events/{event['id']}").json()["tiers"][0]["remaining"] == 8

    # an ETH event says ETH, as before; face_value_wei still works for it
    eth = _create(app_client, organizer_key, event_body(10)).json()
    assert eth["chain_currency"]["symbol"] == "ETH"
    assert eth["tiers"][0]["face_value"] == "0.001"


def test_a_currency_that_cannot_settle_an_event_is_refused_in_plain_words(
    app_client: TestClient, organizer_key: str, fusd: str, w3: Web3, platform: str, db
) -> None:
    eight = _token(w3, "Eight", "EIGHT", 8)
    nobody = "0x" + "5a" * 20
    cases = {
        nobody: "no contract at this address",
        platform: "answers no decimals()",  # the factory: a contract, not a token
        eight: "a token of 8 decimals; an event settles in a token of 6 or 18 decimals",
    }
    for currency, words in cases.items():
        r = _create(app_client, organizer_key, _body(currency))
        assert r.status_code == 422, (currency, r.text)
        assert r.json()["error"]["code"] == "invalid_request"
        assert words in r.json()["error"]["message"], r.text
    for bad in ("USDC", "0x12", ""):
        r = _create(app_client, organizer_key, _body(bad))
        assert r.status_code == 422 and "chain_currency" in r.json()["error"]["message"], r.text
    finer = _create(app_client, organizer_key, _body(fusd, face="12.5000001"))
    assert finer.status_code == 422
    assert "at most 6 decimals" in finer.json()["error"]["message"]
    both = _body(fusd)
    both["tiers"][0]["face_value_wei"] = UNITS
    assert _create(app_client, organizer_key, both).status_code == 422
    with db() as session:  # refused before anything was recorded or sent
        assert session.scalars(select(Event)).all() == []


def _cancelled_with_a_gift(
    app_client: TestClient,
    organizer_key: str,
    worker: Any,
    w3: Web3,
    fans: list[LocalAccount],
    token: str,
) -> tuple[dict[str, Any], int]:
    """Fan 0 pays two card tickets of an event in ``token``, gives one to fan 1; cancelled."""
    event = _create(app_client, organizer_key, _body(token)).json()
    order = place_order(app_client, event, 2, fans[0].address)
    pay(app_client, order)
    worker.run(until_idle=True)
    gifted, _kept = (t["token_id"] for t in read_order(app_client, order)["tickets"])
    _gift(w3, event, gifted, fans[0], fans[1])
    r = app_client.post(
        f"/organizer/events/{event['id']}/cancel", headers={"X-API-Key": organizer_key}
    )
    assert r.status_code == 200, r.text
    return event, gifted


def _state(db: Any, token_id: int) -> TicketState:
    with db() as session:
        row = session.scalar(select(Ticket).where(Ticket.token_id == token_id))
        assert row is not None
        return TicketState(row.state)


def test_a_given_away_card_ticket_is_refunded_in_the_token_the_minter_approves(
    app_client: TestClient,
    organizer_key: str,
    db,
    settings,
    bridge_chain,
    provider,
    w3: Web3,
    fans: list[LocalAccount],
    fusd: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    worker = make_worker(
        settings.model_copy(update={"card_dispute_days": 0}), db, bridge_chain, provider
    )
    event, gifted = _cancelled_with_a_gift(app_client, organizer_key, worker, w3, fans, fusd)
    minter = bridge_chain.minter.address
    token = Erc20Client(w3, fusd)
    short = token.balance_of(minter)
    with caplog.at_level(logging.WARNING, logger="api.services.refunds"):
        worker.run(until_idle=True)  # the minter holds no FUSD yet: nothing is sent
    assert f"the minter {minter} holds" in caplog.text and "need 12.5 FUSD" in caplog.text
    assert _state(db, gifted) == TicketState.GIVEN_AWAY

    _faucet(w3, fusd, minter, UNITS - short)  # `fairgate dev faucet` to the bridge's minter
    worker.run(until_idle=True)
    assert _state(db, gifted) == TicketState.REFUND_FUNDED
    holder = _client(w3, event, fans[1])
    assert holder.paid_in_eth(gifted) and holder.escrow_balance() == UNITS
    assert token.balance_of(minter) == 0 and token.allowance(minter, event["contract_address"]) == 0
    assert w3.eth.get_balance(event["contract_address"]) == 0  # not a wei of ETH
    holder.claim_refund([gifted], to=fans[2].address)
    assert token.balance_of(fans[2].address) == UNITS
    worker.run(until_idle=True)  # funded once: nothing more is sent
    assert token.balance_of(event["contract_address"]) == 0


def test_a_fee_on_transfer_token_is_refused_by_the_contract_when_the_bridge_pays(
    app_client: TestClient,
    organizer_key: str,
    db,
    settings,
    bridge_chain,
    provider,
    w3: Web3,
    fans: list[LocalAccount],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A token that burns a fee on each transfer passes every check the bridge can make without
    moving money (a contract, 6 decimals); the contract refuses it at the first payment
    (``FeeOnTransferToken``), and the bridge says so and keeps the ticket to fund."""
    sender = TransactionSender(w3, dev_signer(0))
    fot, _, _ = deploy_contract(sender, abi.artifact("FeeOnTransferToken"))
    worker = make_worker(
        settings.model_copy(update={"card_dispute_days": 0}), db, bridge_chain, provider
    )
    event, gifted = _cancelled_with_a_gift(app_client, organizer_key, worker, w3, fans, fot)
    assert event["chain_currency"]["symbol"] == "FOT"
    Erc20Client(w3, fot, sender).mint(bridge_chain.minter.address, 10 * UNITS)
    with caplog.at_level(logging.WARNING, logger="api.services.refunds"):
        worker.run(until_idle=True)
    fee = UNITS // 100  # the token burns 1 % of every transfer
    refused = f"FeeOnTransferToken(token='{fot}', expected={UNITS}, received={UNITS - fee})"
    assert refused in caplog.text
    assert _state(db, gifted) == TicketState.GIVEN_AWAY
    assert Erc20Client(w3, fot).balance_of(event["contract_address"]) == 0
