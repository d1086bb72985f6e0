"""The fan pages in real Chromium against a real bridge and chain: the event page (tiers, cap,
royalty, resale window, metadata and image from IPFS through the gateway), the ABI route, and
the wallet page's EIP-6963 picker and chain switch. Screenshots go to reports/screenshots."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from playwright.sync_api import Browser, expect
from web3 import Web3

from api.services import fan as fan_service
from chain.compiler import load_artifact
from chain.ganache import GanacheRunner
from chain.keys import Signer, dev_signer
from chain.sender import TransactionSender
from chain.ticket_event import TicketEventClient
from tests.web.browser import assert_accessible, screenshot
from tests.web.fan_stack import (
    Bridge,
    create_event,
    patient_expect,  # noqa: F401 (autouse fixture)
    running_bridge,
    wallet,
    wallet_context,
)
from zk.identity import TicketSecret, seed_from_account
from zk.tree_sync import tree_from_events


@pytest.fixture(scope="module")
def bridge(
    ganache: GanacheRunner, w3: Web3, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Bridge]:
    with running_bridge(ganache, w3, tmp_path_factory.mktemp("fan")) as b:
        yield b


@pytest.fixture(scope="module")
def gate_account(dev_accounts: list[LocalAccount]) -> LocalAccount:
    return dev_accounts[2]


@pytest.fixture(scope="module")
def event(bridge: Bridge, gate_account: LocalAccount) -> dict[str, Any]:
    return create_event(bridge, gate=gate_account.address)


def test_the_abi_route_serves_the_compiled_build(bridge: Bridge) -> None:
    r = bridge.get("/abi/TicketEvent")
    assert r.status_code == 200
    assert r.json() == load_artifact("TicketEvent").abi
    errors = {e["name"] for e in r.json() if e["type"] == "error"}
    assert {"PriceAboveCap", "ResaleClosed", "SoldOut"} <= errors
    missing = bridge.get("/abi/NoSuchContract")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert bridge.get("/abi/..%2Fetc").status_code in (404, 422)


def test_the_chain_view_of_an_event(bridge: Bridge, event: dict[str, Any]) -> None:
    r = bridge.get(f"/events/{event['id']}/chain")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["chain_id"] == 1337 and body["cancelled"] is False and body["window_s"] == 20
    tier = body["tiers"][0]
    assert tier["face_value_wei"] == str(10**15) and tier["resale_cap_wei"] == str(11 * 10**14)
    assert tier["remaining"] == 50 and tier["royalty_bps"] == 500
    assert bridge.get("/events/999/chain").status_code == 404
    bad = bridge.get(f"/events/{event['id']}/holders/0x1234")
    assert bad.status_code == 422
    early = bridge.get(f"/events/{event['id']}/tickets/0/gate-path")
    assert early.status_code == 409
    assert early.json()["error"]["message"] == "the organizer has not published the gate list yet"
    assert bridge.get(f"/events/{event['id']}/tickets/{2**20}/gate-path").status_code == 422


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_event_page_shows_tiers_and_ipfs_metadata(
    browser: Browser, bridge: Bridge, event: dict[str, Any], size: str
) -> None:
    context = wallet_context(browser, [], phone=size == "phone")
    page = context.new_page()
    try:
        page.goto(f"{bridge.url}/event/{event['id']}")
        tier = page.locator("section.tier").first
        expect(tier).to_contain_text("Standing")
        expect(tier).to_contain_text("0.001 ETH · or 45.00 USD by card")
        expect(tier).to_contain_text("50 of 50")
        expect(tier).to_contain_text("0.0011 ETH (110% of face value)")
        expect(tier).to_contain_text("5% of each resale")
        expect(tier).to_contain_text("Open until")
        expect(tier).to_contain_text("Night One at the Hall")  # from the IPFS metadata
        image = tier.locator("img.tier-image")
        expect(image).to_have_attribute("src", _starts_with("/ipfs/"))
        page.wait_for_function("() => document.querySelector('img.tier-image').naturalWidth > 0")
        # with no wallet in the browser, the page says so and points to the card path
        expect(page.locator(".wallet-slot")).to_contain_text("No browser wallet was found")
        expect(page.locator(".buy-eth")).to_be_visible()
        screenshot(page, f"fan-event-{size}")
        assert_accessible(page)
    finally:
        context.close()


def _starts_with(prefix: str) -> Any:
    import re

    return re.compile("^" + re.escape(prefix))


def test_the_wallet_picker_lists_every_wallet_and_switches_chain(
    browser: Browser,
    bridge: Bridge,
    event: dict[str, Any],
    ganache: GanacheRunner,
    dev_accounts: list[LocalAccount],
) -> None:
    wallets = [
        wallet("Alpha Wallet", dev_accounts[-1].address, ganache, start_chain_id=1),
        wallet("Beta Wallet", dev_accounts[-2].address, ganache),
    ]
    context = wallet_context(browser, wallets)
    page = context.new_page()
    try:
        page.goto(f"{bridge.url}/me?event={event['id']}")
        picker = page.locator(".wallet-picker button")
        expect(picker).to_have_count(2)
        expect(page.locator(".wallet-slot")).to_contain_text("Choose the wallet to use")
        screenshot(page, "fan-me-picker-desktop")
        assert_accessible(page)
        # keyboard only: Tab to the first wallet and press Enter
        for _ in range(30):
            page.keyboard.press("Tab")
            if page.evaluate("() => document.activeElement?.classList.contains('pick-wallet')"):
                break
        assert page.evaluate("() => document.activeElement.textContent") == "Connect Alpha Wallet"
        page.keyboard.press("Enter")
        expect(page.locator(".account")).to_have_text(dev_accounts[-1].address)
        expect(page.locator(".chain-wrong")).to_contain_text("on chain 1;")
        page.locator(".switch-chain").click()
        expect(page.locator(".chain-ok")).to_contain_text("chain 1337")
        expect(page.locator("#my-tickets")).to_contain_text("No tickets of this event")
    finally:
        context.close()


STORY: dict[str, Any] = {}


def _paid_card_order(
    bridge: Bridge, event: dict[str, Any], email: str, wallet_or_custody: str
) -> tuple[dict[str, Any], int]:
    """A one-ticket order paid by card through the local provider and minted by the worker: the
    order as created, and its ticket's id."""
    r = bridge.post(
        "/orders",
        json={
            "event_id": event["id"],
            "tier_id": event["tiers"][0]["id"],
            "quantity": 1,
            "email": email,
            "wallet": wallet_or_custody,
            "commitments": [str(TicketSecret.generate().commitment())],
        },
    )
    assert r.status_code == 201, r.text
    order: dict[str, Any] = r.json()
    paid = bridge.post(
        f"/checkout/{order['payment_ref']}", json={"card_number": "4242424242424242"}
    )
    assert paid.status_code == 200, paid.text
    bridge.worker().run(until_idle=True)
    minted = bridge.get(f"/orders/{order['id']}", headers={"X-Order-Token": order["order_token"]})
    return order, int(minted.json()["tickets"][0]["token_id"])


def _pick(page: Any) -> None:
    page.locator(".pick-wallet").first.click()
    expect(page.locator(".chain-ok")).to_be_visible()


def test_story_buy_list_above_cap_list_at_cap_and_resell(
    browser: Browser,
    bridge: Bridge,
    event: dict[str, Any],
    ganache: GanacheRunner,
    dev_accounts: list[LocalAccount],
    w3: Web3,
) -> None:
    alice, bob = dev_accounts[-3], dev_accounts[-4]
    client = TicketEventClient(w3, event["contract_address"])
    scope = client.gate_scope()
    first_token = client.next_token_id()

    # Alice buys one ticket with ETH on the event page
    context = wallet_context(browser, [wallet("Alice Wallet", alice.address, ganache)])
    page = context.new_page()
    page.goto(f"{bridge.url}/event/{event['id']}")
    _pick(page)
    page.locator(".buy-eth").first.click()
    bought = page.locator(".tx[data-state=confirmed]")
    expect(bought).to_contain_text("Buying 1 ticket for 0.001 ETH: confirmed in block")
    expect(bought.locator(".mono")).to_have_text(_starts_with("0x"))
    assert bought.get_attribute("data-states") == "waiting pending confirmed"
    assert client.owner_of(first_token) == alice.address
    # the commitment the browser made is Python's for Alice's wallet, ticket counter 0
    secret = TicketSecret.derive(seed_from_account(alice), scope, 0)
    leaf = tree_from_events(_tree_events(bridge, event)).leaf(first_token)
    assert leaf == secret.commitment()

    # on /me she lists it above the cap: refused in plain words before anything is signed
    page.goto(f"{bridge.url}/me?event={event['id']}")
    _pick(page)
    card = page.locator(f"li.ticket[data-token='{first_token}']")
    expect(card).to_contain_text("Yours")
    card.locator(".sell").click()
    expect(card.locator(".cap")).to_contain_text("Resale cap: 0.0011 ETH (110% of face value)")
    nonce = w3.eth.get_transaction_count(alice.address)
    card.locator("input[name=price]").fill("0.0012")
    card.locator("button[type=submit]").click()
    refused = page.locator(".tx[data-state=failed]").first
    expect(refused).to_contain_text(
        "The price 0.0012 ETH is above this ticket's resale cap of 0.0011 ETH."
    )
    assert "0x" not in (refused.text_content() or "")  # no raw revert data
    assert w3.eth.get_transaction_count(alice.address) == nonce
    # at the cap it is listed
    card.locator("input[name=price]").fill("0.0011")
    card.locator("button[type=submit]").click()
    expect(page.locator(".tx[data-state=confirmed]").first).to_contain_text(
        f"Listing ticket #{first_token} at 0.0011 ETH: confirmed"
    )
    expect(page.locator(f"li.ticket[data-token='{first_token}']")).to_contain_text(
        "For sale at 0.0011 ETH"
    )
    screenshot(page, "fan-me-listed-desktop")
    assert_accessible(page)
    context.close()

    # Bob, on a phone, buys it from the resale list
    context = wallet_context(browser, [wallet("Bob Wallet", bob.address, ganache)], phone=True)
    page = context.new_page()
    page.goto(f"{bridge.url}/me?event={event['id']}")
    _pick(page)
    offer = page.locator(f"#market-list li[data-token='{first_token}']")
    expect(offer).to_contain_text("0.0011 ETH")
    offer.locator(".buy-listing").click()
    expect(page.locator(".tx[data-state=confirmed]").first).to_contain_text(
        f"Buy ticket #{first_token} for 0.0011 ETH: confirmed"
    )
    expect(page.locator(f"#my-tickets li[data-token='{first_token}']")).to_contain_text("Yours")
    assert client.owner_of(first_token) == bob.address
    bob_secret = TicketSecret.derive(seed_from_account(bob), scope, 0)
    assert tree_from_events(_tree_events(bridge, event)).leaf(first_token) == (
        bob_secret.commitment()
    )
    screenshot(page, "fan-me-bought-phone")
    assert_accessible(page)
    context.close()
    STORY.update(token=first_token, bob=bob, alice=alice, scope=scope)


def _tree_events(bridge: Bridge, event: dict[str, Any]) -> list[Any]:
    from api.models import Event

    with bridge.sessions() as session:
        row = session.get(Event, event["id"])
        assert row is not None
        return fan_service.read_events(bridge.chain, row)


def test_a_card_buyer_claims_custody_tickets_into_a_wallet(
    browser: Browser,
    bridge: Bridge,
    event: dict[str, Any],
    ganache: GanacheRunner,
    dev_accounts: list[LocalAccount],
    w3: Web3,
) -> None:
    dave = dev_accounts[-6]
    order, token = _paid_card_order(bridge, event, "dave@example.com", "custody")
    worker = bridge.worker()

    context = wallet_context(browser, [wallet("Dave Wallet", dave.address, ganache)])
    page = context.new_page()
    page.goto(f"{bridge.url}/me?event={event['id']}")
    _pick(page)
    page.locator("#claim-order").fill(order["id"])
    page.locator("#claim-token").fill("wrong-token")
    page.locator("#claim-form button[type=submit]").click()
    expect(page.locator(".tx[data-state=failed]").first).to_contain_text(
        f"Claiming the tickets of order {order['id']}:"
    )
    page.locator("#claim-token").fill(order["order_token"])
    page.locator("#claim-form button[type=submit]").click()
    expect(page.locator(".tx[data-state=confirmed]").first).to_contain_text(
        f"tickets #{token} are being moved to your wallet"
    )
    worker.run(until_idle=True)
    assert TicketEventClient(w3, event["contract_address"]).owner_of(token) == dave.address
    page.reload()
    _pick(page)
    expect(page.locator(f"#my-tickets li[data-token='{token}']")).to_contain_text("Yours")
    # its key was made by the card buyer's device: the wallet replaces it with its own
    page.locator(f"#my-tickets li[data-token='{token}'] .show-gate").click()
    expect(page.locator("#gate .gate-status")).to_contain_text("not made by this wallet")
    screenshot(page, "fan-me-new-key-desktop")
    assert_accessible(page)
    page.locator("#gate .rotate-key").click()
    expect(page.locator(".tx[data-state=confirmed]").first).to_contain_text(
        f"New key for ticket #{token}: confirmed"
    )
    client = TicketEventClient(w3, event["contract_address"])
    dave_secret = TicketSecret.derive(seed_from_account(dave), client.gate_scope(), 0)
    assert tree_from_events(_tree_events(bridge, event)).leaf(token) == dave_secret.commitment()
    context.close()
    STORY["card"] = (dave, token)  # a card ticket in its buyer's wallet, for the cancellation


def test_a_card_tickets_seller_withdraws_the_proceeds_above_face(
    browser: Browser,
    bridge: Bridge,
    event: dict[str, Any],
    ganache: GanacheRunner,
    dev_accounts: list[LocalAccount],
    w3: Web3,
) -> None:
    """A card ticket's first resale holds its face value in the contract and leaves the price
    above it, less royalty, as the seller's pull balance: /me shows it and withdraws it."""
    erin, frank = dev_accounts[-9], dev_accounts[-10]
    _, token = _paid_card_order(bridge, event, "erin@example.com", erin.address)
    client = TicketEventClient(w3, event["contract_address"])
    assert client.pending_of(erin.address) == 0

    for size in ("desktop", "phone"):
        context = wallet_context(
            browser, [wallet("Erin Wallet", erin.address, ganache)], phone=size == "phone"
        )
        page = context.new_page()
        page.goto(f"{bridge.url}/me?event={event['id']}")
        _pick(page)
        card = page.locator(f"#my-tickets li[data-token='{token}']")
        if size == "desktop":
            expect(card).to_contain_text("Yours")
            expect(page.locator("#my-proceeds")).to_be_hidden()  # nothing owed: no button
            card.locator(".sell").click()
            card.locator("input[name=price]").fill("0.0011")  # the cap: 110 % of face
            card.locator("button[type=submit]").click()
            expect(card).to_contain_text("For sale at 0.0011 ETH")
            buyer = TicketEventClient(
                w3,
                event["contract_address"],
                TransactionSender(w3, Signer.from_account(frank), settings=bridge.settings),
            )
            buyer.buy(token, TicketSecret.generate().commitment())
            page.reload()
            _pick(page)
            # 0.0001 above the 0.001 face, less its 5 % royalty; the face stays held to the event
            expect(page.locator("#my-proceeds")).to_contain_text(
                "Proceeds of your sales waiting for you: 0.000095 ETH"
            )
            expect(page.locator(f"#my-tickets li[data-token='{token}']")).to_have_count(0)
            screenshot(page, "fan-me-proceeds-desktop")
            assert_accessible(page)
        else:  # the same wallet on a phone: the proceeds, then the withdrawal
            expect(page.locator("#my-tickets")).to_contain_text("No tickets of this event")
            expect(page.locator("#my-proceeds")).to_contain_text("0.000095 ETH")
            screenshot(page, "fan-me-proceeds-phone")
            before = w3.eth.get_balance(erin.address)
            page.locator("#my-proceeds .withdraw-proceeds").click()
            expect(page.locator(".tx[data-state=confirmed]").first).to_contain_text(
                "Withdrawing 0.000095 ETH of proceeds: confirmed"
            )
            expect(page.locator("#my-proceeds")).to_be_hidden()
            screenshot(page, "fan-me-proceeds-withdrawn-phone")
            assert_accessible(page)
            assert client.pending_of(erin.address) == 0
            assert client.held_sale(token).price == 10**15  # the face value, held
            gas_paid = before + 95 * 10**12 - w3.eth.get_balance(erin.address)
            assert 0 < gas_paid < 10**15, gas_paid  # the proceeds arrived, less the gas
        context.close()


def test_story_change_price_cancel_gift_accept_and_refund_after_cancellation(
    browser: Browser,
    bridge: Bridge,
    event: dict[str, Any],
    ganache: GanacheRunner,
    dev_accounts: list[LocalAccount],
    w3: Web3,
) -> None:
    if not STORY:
        pytest.skip("needs the resale story above")
    token, bob = STORY["token"], STORY["bob"]
    carol = dev_accounts[-5]
    client = TicketEventClient(w3, event["contract_address"])
    context = wallet_context(browser, [wallet("Bob Wallet", bob.address, ganache)])
    page = context.new_page()
    page.goto(f"{bridge.url}/me?event={event['id']}")
    _pick(page)
    card = page.locator(f"#my-tickets li[data-token='{token}']")
    card.locator(".sell").click()
    card.locator("input[name=price]").fill("0.001")
    card.locator("button[type=submit]").click()
    expect(card).to_contain_text("For sale at 0.001 ETH")
    card.locator(".change-price").click()
    card.locator("input[name=price]").fill("0.0011")
    card.locator("button[type=submit]").click()
    expect(card).to_contain_text("For sale at 0.0011 ETH")
    card.locator(".cancel-listing").click()
    expect(card).to_contain_text("Yours")
    assert client.listing(token) is None
    card.locator(".gift").click()
    card.locator("input[name=to]").fill("not an address")
    card.locator("form.gift-form button[type=submit]").click()
    expect(page.locator(".tx-log [role=alert]").first).to_contain_text(
        "Enter the receiving wallet's address"
    )
    card.locator("input[name=to]").fill(carol.address)
    card.locator("form.gift-form button[type=submit]").click()
    expect(card).to_contain_text(f"Offered as a gift to {carol.address[:6]}")
    context.close()

    context = wallet_context(browser, [wallet("Carol Wallet", carol.address, ganache)])
    page = context.new_page()
    page.goto(f"{bridge.url}/me?event={event['id']}")
    _pick(page)
    gift = page.locator(f"#market-list li[data-token='{token}']")
    expect(gift).to_contain_text("a gift for you")
    gift.locator(".buy-listing").click()
    mine = page.locator(f"#my-tickets li[data-token='{token}']")
    expect(mine).to_contain_text("Yours")
    assert client.owner_of(token) == carol.address

    # the organizer (the bridge's operator here) cancels: Carol claims the face value back
    organizer = TicketEventClient(
        w3,
        event["contract_address"],
        TransactionSender(w3, dev_signer(0), settings=bridge.settings),
    )
    organizer.cancel()
    page.reload()
    _pick(page)
    before = w3.eth.get_balance(carol.address)
    page.locator(f"#my-tickets li[data-token='{token}'] .refund").click()
    expect(page.locator(".tx[data-state=confirmed]").first).to_contain_text(
        f"Refund of ticket #{token}: confirmed"
    )
    expect(page.locator("#my-tickets")).to_contain_text("No tickets of this event")
    expect(page.locator("#me-cancelled")).to_be_visible()
    assert w3.eth.get_balance(carol.address) > before
    screenshot(page, "fan-me-refunded-desktop")
    context.close()
    if "card" in STORY:  # a card ticket is not claimed here: its card is refunded
        dave, card_token = STORY["card"]
        context = wallet_context(
            browser, [wallet("Dave Wallet", dave.address, ganache)], phone=True
        )
        page = context.new_page()
        page.goto(f"{bridge.url}/me?event={event['id']}")
        _pick(page)
        card_ticket = page.locator(f"#my-tickets li[data-token='{card_token}']")
        expect(card_ticket).to_contain_text("A card ticket: its buyer's card is refunded.")
        expect(card_ticket.locator(".refund")).to_have_count(0)
        expect(page.locator("#me-cancelled")).to_contain_text("if it was given to you")
        screenshot(page, "fan-me-card-ticket-cancelled-phone")
        assert_accessible(page)
        context.close()
    page_event = browser.new_page()
    page_event.goto(f"{bridge.url}/event/{event['id']}")
    expect(page_event.locator(".notice.bad")).to_contain_text("This event is cancelled")
    expect(page_event.locator(".buy-eth")).to_have_count(0)
    page_event.close()


def test_a_wallet_without_the_events_network_is_told_what_to_add(
    browser: Browser,
    bridge: Bridge,
    event: dict[str, Any],
    ganache: GanacheRunner,
    dev_accounts: list[LocalAccount],
) -> None:
    stranger = wallet("Other Chain Wallet", dev_accounts[-8].address, ganache, start_chain_id=5)
    stranger["nodeChainId"] = 5  # this wallet only knows chain 5: switching answers 4902
    context = wallet_context(browser, [stranger], phone=True)
    page = context.new_page()
    try:
        page.goto(f"{bridge.url}/event/{event['id']}")
        page.locator(".pick-wallet").click()
        expect(page.locator(".chain-wrong")).to_contain_text(
            "Your wallet is on chain 5; this event's tickets are on chain 1337."
        )
        page.locator(".switch-chain").click()
        expect(page.locator(".tx-log [role=alert]").first).to_have_text(
            "Your wallet does not know this event's network (chain 1337). Add it in your "
            "wallet's network settings, then try again."
        )
        screenshot(page, "fan-event-wrong-chain-phone")
        assert_accessible(page)
    finally:
        context.close()
