"""An event in a stablecoin, in real Chromium against a real bridge on Ganache with the dev chain's
test stablecoin (FUSD, 6 decimals, as ``fairgate dev up`` deploys it and ``fairgate dev faucet``
mints it): the organizer creates it on the dashboard's form (which names the chain's FUSD), the
fan pages show every on-chain price in FUSD, and a fan buys with FUSD from the browser wallet
(an approval of exactly the price, then the purchase). Desktop and phone screenshots, axe clean.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from playwright.sync_api import Browser, expect
from web3 import Web3

from chain.deploy import ensure_test_stablecoin
from chain.erc20 import Erc20Client
from chain.ganache import GanacheRunner
from chain.keys import dev_signer
from chain.sender import TransactionSender
from chain.ticket_event import TicketEventClient
from fairgate.settings import Settings
from tests.web.browser import assert_accessible, screenshot
from tests.web.fan_stack import (
    ADMIN_KEY,
    Bridge,
    patient_expect,  # noqa: F401 (autouse fixture)
    poster,
    running_bridge,
    wallet,
    wallet_context,
)
from tests.web.test_dashboard import sign_in

FACE = 12_500_000  # 12.5 FUSD


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return tmp_path_factory.mktemp("token-pages")


@pytest.fixture(scope="module")
def fusd(ganache: GanacheRunner, w3: Web3, home: Any) -> str:
    """The test stablecoin recorded under the bridge's home, as `fairgate dev up` leaves it."""
    sender = TransactionSender(w3, dev_signer(0))
    return ensure_test_stablecoin(sender, Settings(env="test", home=home, rpc_url=ganache.url))


@pytest.fixture(scope="module")
def bridge(ganache: GanacheRunner, w3: Web3, home: Any, fusd: str) -> Iterator[Bridge]:
    with running_bridge(ganache, w3, home) as b:
        yield b


@pytest.fixture(scope="module")
def organizer(bridge: Bridge, dev_accounts: list[LocalAccount]) -> dict[str, Any]:
    account = dev_accounts[7]
    r = bridge.post(
        "/admin/organizers",
        json={"name": "Coin Hall", "payout_address": account.address},
        headers={"X-API-Key": ADMIN_KEY},
    )
    assert r.status_code == 201, r.text
    return {**r.json(), "address": account.address}


def _faucet(w3: Web3, token: str, to: str, amount: int) -> None:
    Erc20Client(w3, token, TransactionSender(w3, dev_signer(0))).mint(to, amount)


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_the_organizer_creates_an_event_in_fusd_on_the_dashboard(
    browser: Browser,
    ganache: GanacheRunner,
    bridge: Bridge,
    organizer: dict[str, Any],
    fusd: str,
    w3: Web3,
    tmp_path: Any,
    phone: bool,
) -> None:
    size = "phone" if phone else "desktop"
    context = wallet_context(
        browser, [wallet("Test Wallet", organizer["address"], ganache)], phone=phone
    )
    page = context.new_page()
    try:
        sign_in(page, bridge, "Create an event", "/dashboard/events/new")
        field = page.get_by_label("Paid on-chain in")
        expect(field).to_have_value("ETH")
        expect(page.locator("#chain_currency-hint")).to_contain_text(
            f"this chain's test stablecoin FUSD is {fusd}"
        )
        start = (datetime.now(UTC) + timedelta(days=40)).replace(second=0, microsecond=0)
        image = tmp_path / "poster.png"
        image.write_bytes(poster())
        page.get_by_label("Name", exact=True).fill(f"Coin Gala {size}")
        page.get_by_label("Venue").fill("Mint Hall")
        page.get_by_label("Doors open (UTC)").fill(start.strftime("%Y-%m-%dT%H:%M"))
        page.get_by_label("Ends (UTC)").fill(
            (start + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M")
        )
        page.get_by_label("Image").set_input_files(str(image))
        page.locator("#tier_name_0").fill("Floor")
        page.locator("#tier_supply_0").fill("80")
        page.locator("#tier_price_0").fill("12.50")
        page.locator("#tier_face_0").fill("12.5")
        # an address without a contract: refused in plain words, the form keeps what was typed
        field.fill("0x" + "5a" * 20)
        page.get_by_role("button", name="Create the event").click()
        expect(page.locator("#form-error")).to_contain_text(
            "Paid on-chain in: 0x5a5A5a5a5A5a5a5a5a5A5a5A5A5a5a5A5A5A5A5A: no contract at this "
            "address on this chain"
        )
        expect(page.get_by_label("Venue")).to_have_value("Mint Hall")
        expect(page.locator("#tier_face_0")).to_have_value("12.5")
        assert_accessible(page)
        screenshot(page, f"dashboard-new-token-event-refused-{size}")

        # FUSD has 6 decimals: a finer face value is refused, in the form's words
        page.get_by_label("Paid on-chain in").fill(fusd)
        page.locator("#tier_face_0").fill("12.5000001")
        page.get_by_label("Image").set_input_files(str(image))  # a file input is never kept
        page.get_by_role("button", name="Create the event").click()
        expect(page.locator("#form-error")).to_contain_text(
            "Tier 1 face value: '12.5000001' is not an amount of FUSD (non-negative, at most 6 "
            "decimals)"
        )
        expect(page.get_by_label("Paid on-chain in")).to_have_value(fusd)
        page.locator("#tier_face_0").fill("12.5")
        page.get_by_label("Image").set_input_files(str(image))
        assert_accessible(page)
        screenshot(page, f"dashboard-new-token-event-{size}")
        page.get_by_role("button", name="Create the event").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            f"Coin Gala {size}", timeout=90_000
        )
        event_id = int(page.url.rsplit("/", 1)[1])
        # the event's page counts the on-chain channel in FUSD, not ETH
        live = page.locator("#live")
        expect(live).to_contain_text("for FUSD")
        expect(live).to_contain_text("FUSD primary")
        expect(page.locator("#tiers thead")).to_contain_text("Sold for FUSD")
        assert "ETH" not in (live.text_content() or "")
        assert_accessible(page)
        screenshot(page, f"dashboard-token-event-{size}")
        out = bridge.get(f"/events/{event_id}").json()
        assert out["chain_currency"] == {"address": fusd, "symbol": "FUSD", "decimals": 6}
        assert out["tiers"][0]["face_value"] == "12.5"
        client = TicketEventClient(w3, out["contract_address"])
        assert client.currency_address() == fusd and client.tiers()[0].face_value == FACE
    finally:
        context.close()


def _api_event(bridge: Bridge, organizer: dict[str, Any], fusd: str, name: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    body = {
        "name": name,
        "symbol": "COIN",
        "venue": "Mint Hall",
        "starts_at": (now + timedelta(days=20)).isoformat(),
        "ends_at": (now + timedelta(days=21)).isoformat(),
        "chain_currency": fusd,
        "tiers": [
            {
                "name": "Floor",
                "price_cents": 4500,
                "face_value": "12.5",
                "supply": 40,
                "resale_cap_bps": 11000,
                "royalty_bps": 500,
                "resale_opens_at": int(now.timestamp()) - 60,
                "resale_closes_at": int((now + timedelta(days=19)).timestamp()),
            }
        ],
    }
    r = bridge.post("/organizer/events", json=body, headers={"X-API-Key": organizer["api_key"]})
    assert r.status_code == 201, r.text
    event: dict[str, Any] = r.json()
    return event


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_a_fan_sees_fusd_prices_and_buys_with_fusd_from_the_wallet(
    browser: Browser,
    ganache: GanacheRunner,
    bridge: Bridge,
    organizer: dict[str, Any],
    fusd: str,
    w3: Web3,
    dev_accounts: list[LocalAccount],
    phone: bool,
) -> None:
    size = "phone" if phone else "desktop"
    event = _api_event(bridge, organizer, fusd, f"Coin Night {size}")
    fan = dev_accounts[-5] if phone else dev_accounts[-6]
    token = Erc20Client(w3, fusd)
    _faucet(w3, fusd, fan.address, 20_000_000 - token.balance_of(fan.address))  # 20 FUSD
    client = TicketEventClient(w3, event["contract_address"])
    first = client.next_token_id()

    context = wallet_context(browser, [wallet("Fan Wallet", fan.address, ganache)], phone=phone)
    page = context.new_page()
    try:
        page.goto(f"{bridge.url}/event/{event['id']}")
        tier = page.locator("section.tier").first
        expect(tier).to_contain_text("12.5 FUSD · or 45.00 USD by card")
        expect(tier).to_contain_text("13.75 FUSD (110% of face value)")
        expect(page.locator(".buy-eth")).to_have_text("Buy with FUSD")
        page.locator(".pick-wallet").first.click()
        expect(page.locator(".chain-ok")).to_be_visible()
        assert_accessible(page)
        screenshot(page, f"fan-token-event-{size}")

        page.locator(".buy-eth").first.click()
        approved = page.locator(".tx[data-state=confirmed]", has_text="Allowing the event")
        expect(approved).to_contain_text("Allowing the event to take 12.5 FUSD: confirmed")
        bought = page.locator(".tx[data-state=confirmed]", has_text="Buying")
        expect(bought).to_contain_text("Buying 1 ticket for 12.5 FUSD: confirmed in block")
        assert client.owner_of(first) == fan.address
        assert token.balance_of(fan.address) == 20_000_000 - FACE
        assert token.balance_of(event["contract_address"]) == FACE
        assert w3.eth.get_balance(event["contract_address"]) == 0
        screenshot(page, f"fan-token-bought-{size}")

        # the second ticket would cost more than the wallet holds: said before anything is signed
        nonce = w3.eth.get_transaction_count(fan.address)
        page.locator(".buy-eth").first.click()
        short = page.locator(".notice.bad[role=alert]").first
        expect(short).to_contain_text("This wallet holds 7.5 FUSD; this costs 12.5 FUSD.")
        assert w3.eth.get_transaction_count(fan.address) == nonce

        # on /me: the ticket, its resale cap and a refused price, in FUSD
        page.goto(f"{bridge.url}/me?event={event['id']}")
        page.locator(".pick-wallet").first.click()
        card = page.locator(f"li.ticket[data-token='{first}']")
        expect(card).to_contain_text("Yours")
        card.locator(".sell").click()
        expect(card.locator("label")).to_contain_text("(FUSD)")
        expect(card.locator(".cap")).to_contain_text("Resale cap: 13.75 FUSD (110% of face value)")
        card.locator("input[name=price]").fill("14")
        card.locator("button[type=submit]").click()
        refused = page.locator(".tx[data-state=failed]").first
        expect(refused).to_contain_text(
            "The price 14 FUSD is above this ticket's resale cap of 13.75 FUSD."
        )
        assert w3.eth.get_transaction_count(fan.address) == nonce
        assert_accessible(page)
        screenshot(page, f"fan-token-me-{size}")
    finally:
        context.close()
