"""Buying by card from the event page, for a fan with no wallet (issue 11), in Chromium against a
real bridge and chain: the plain form (no JavaScript needed) makes a custody order, the page
shows the order number and token for the claim on /me, the checkout takes the local test card and
follows the order to minted. Bad input is refused in plain words with the typed values kept.
Screenshots (desktop and phone) go to reports/screenshots."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, expect
from web3 import Web3

from api.models import Tier
from api.routes.fan_pages import _card_error
from chain.ganache import GanacheRunner
from tests.web.browser import DESKTOP, PHONE, assert_accessible, screenshot
from tests.web.fan_stack import Bridge, create_event, running_bridge

GATE = "0x" + "6b" * 20


@pytest.fixture(scope="module")
def bridge(
    ganache: GanacheRunner, w3: Web3, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Bridge]:
    with running_bridge(ganache, w3, tmp_path_factory.mktemp("cardbuy")) as b:
        yield b


@pytest.fixture(scope="module")
def event(bridge: Bridge) -> dict[str, Any]:
    return create_event(bridge, gate=GATE, name="Dockside Sessions")


def test_a_fan_without_a_wallet_buys_two_by_card(
    browser: Browser, bridge: Bridge, event: dict[str, Any]
) -> None:
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{bridge.url}/event/{event['id']}")
    form = page.locator("form.card-buy")
    expect(form.get_by_role("heading", name="Buy by card")).to_be_visible()
    with page.expect_response(f"**/event/{event['id']}/card") as answer:
        form.get_by_label("E-mail for the receipt").fill("fan@example.org")
        form.get_by_label("How many").fill("2")
        form.get_by_role("button", name="Buy by card").click()
    assert answer.value.headers["cache-control"] == "no-store"
    expect(page.get_by_role("heading", name="Your order is reserved")).to_be_visible()
    main = page.locator("main")
    expect(main).to_contain_text("2 Standing tickets for Dockside Sessions: 90.00 USD")
    # no ticket secret leaves the bridge: the fan's wallet keys the tickets after its claim
    expect(page.locator("#ticket-secrets")).to_have_count(0)
    claim = page.get_by_role("link", name="your tickets")
    assert claim.get_attribute("href") == f"/me?event={event['id']}"
    screenshot(page, "card-buy-order-desktop")
    order_id = page.locator("#order-id").inner_text()
    token = page.locator("#order-token").inner_text()
    href = page.get_by_role("link", name="Continue to payment").get_attribute("href")
    context.close()

    shown = bridge.get(f"/orders/{order_id}", headers={"X-Order-Token": token})
    assert shown.status_code == 200, shown.text
    assert shown.json()["custody"] is True and shown.json()["quantity"] == 2

    # the same page with JavaScript: accessible, and on to the checkout
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{bridge.url}/event/{event['id']}")
    assert_accessible(page)
    screenshot(page, "card-buy-event-desktop")
    assert href is not None
    page.goto(bridge.url + href if href.startswith("/") else href)
    expect(page.locator("dl.summary")).to_contain_text("2 tickets at 45.00 USD")
    expect(page.locator("dl.summary")).to_contain_text("the bridge's custody")
    page.get_by_role("button", name="Pay 90.00 USD").click()
    expect(page.get_by_role("status")).to_contain_text("Paid.")
    bridge.worker().run(until_idle=True)
    expect(page.get_by_role("status")).to_have_text(
        "Paid, and your tickets are minted.", timeout=20_000
    )
    expect(page.locator("#ticket-list li")).to_have_count(2)
    context.close()
    final = bridge.get(f"/orders/{order_id}", headers={"X-Order-Token": token}).json()
    assert final["state"] == "minted" and len(final["tickets"]) == 2
    assert all(t["custody"] for t in final["tickets"])


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_bad_input_is_refused_in_plain_words(
    browser: Browser, bridge: Bridge, event: dict[str, Any], size: str
) -> None:
    if size == "desktop":
        context = browser.new_context(viewport=DESKTOP)
    else:
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{bridge.url}/event/{event['id']}")
    form = page.locator("form.card-buy")
    form.evaluate("f => { f.noValidate = true }")  # the server's answer, not the browser's
    form.get_by_label("E-mail for the receipt").fill("fan-at-example")
    form.get_by_label("How many").fill("2")
    form.get_by_role("button", name="Buy by card").click()
    form = page.locator("form.card-buy")
    alert = form.get_by_role("alert")
    expect(alert).to_have_text("'fan-at-example' is not an e-mail address (name@example.org).")
    expect(form.get_by_label("E-mail for the receipt")).to_have_value("fan-at-example")
    expect(form.get_by_label("How many")).to_have_value("2")
    expect(form.get_by_label("E-mail for the receipt")).to_have_attribute("aria-invalid", "true")

    form = page.locator("form.card-buy")
    form.evaluate("f => { f.noValidate = true }")
    form.get_by_label("E-mail for the receipt").fill("fan@example.org")
    form.get_by_label("How many").fill("11")
    form.get_by_role("button", name="Buy by card").click()
    form = page.locator("form.card-buy")
    expect(form.get_by_role("alert")).to_have_text("At most 10 tickets per order.")
    expect(form.get_by_label("How many")).to_have_value("11")
    expect(form.get_by_label("E-mail for the receipt")).to_have_value("fan@example.org")
    assert_accessible(page)
    screenshot(page, f"card-buy-refused-{size}")
    context.close()


def test_sold_out_and_only_n_left_in_plain_words() -> None:
    tier = Tier(name="Standing", supply=5, taken=3, eth_minted=0)
    assert _card_error(tier, 3, "fan@example.org", 10) == (
        "quantity",
        "Only 2 Standing tickets left.",
    )
    tier.taken = 5
    assert _card_error(tier, 1, "fan@example.org", 10) == ("quantity", "Standing is sold out.")
    assert _card_error(tier, 0, "fan@example.org", 10) is not None
    assert _card_error(None, 1, "fan@example.org", 10) == (
        "tier",
        "This tier is not sold by card.",
    )
    tier.taken = 0
    assert _card_error(tier, 2, "fan@example.org", 10) is None
