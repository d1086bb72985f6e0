"""The pages a person opens first, in Chromium against a real bridge and chain: the landing page
``/``, the API docs ``/docs`` with no network beyond the bridge, the checkout (what is bought,
paid, followed to minted, reopened after payment) and the IPFS gateway of the stack's metadata.
Screenshots (desktop and phone) go to reports/screenshots."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, Route, expect
from web3 import Web3

from api.app import create_app
from api.db import make_engine
from api.migrate import upgrade
from chain.ganache import GanacheRunner
from fairgate.settings import PROJECT_ROOT, Settings
from metadata import erc721
from metadata.store import store_from_settings
from tests.web.browser import DESKTOP, PHONE, assert_accessible, screenshot
from tests.web.fan_stack import Bridge, create_event, running_bridge
from zk.identity import TicketSecret

WALLET = "0x" + "5a" * 20


@pytest.fixture(scope="module")
def bridge(
    ganache: GanacheRunner, w3: Web3, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Bridge]:
    with running_bridge(ganache, w3, tmp_path_factory.mktemp("site")) as b:
        yield b


@pytest.fixture(scope="module")
def event(bridge: Bridge) -> dict[str, Any]:
    return create_event(bridge, gate=WALLET, name="Harbour Lights")


def _closed_network(page: Page, bridge: Bridge) -> list[str]:
    """Refuse every request that leaves the bridge; returns the refused URLs."""
    refused: list[str] = []
    here = urlparse(bridge.url).netloc

    def gate(route: Route) -> None:
        if urlparse(route.request.url).netloc == here:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", gate)
    return refused


def _order(bridge: Bridge, event: dict[str, Any], quantity: int) -> dict[str, Any]:
    secrets = [TicketSecret.generate() for _ in range(quantity)]
    r = bridge.post(
        "/orders",
        json={
            "event_id": event["id"],
            "tier_id": event["tiers"][0]["id"],
            "quantity": quantity,
            "email": "fan@example.org",
            "wallet": WALLET,
            "commitments": [f"{s.commitment():#x}" for s in secrets],
        },
    )
    assert r.status_code == 201, r.text
    order: dict[str, Any] = r.json()
    return order


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_landing_page_shows_what_is_on_sale(
    browser: Browser, bridge: Bridge, event: dict[str, Any], size: str
) -> None:
    viewport = DESKTOP if size == "desktop" else PHONE
    context = browser.new_context(viewport=viewport, is_mobile=size == "phone")
    page = context.new_page()
    refused = _closed_network(page, bridge)
    page.goto(bridge.url + "/")
    expect(page.get_by_role("link", name="Harbour Lights")).to_have_attribute(
        "href", f"/event/{event['id']}"
    )
    expect(page.get_by_role("cell", name="Standing")).to_be_visible()
    expect(page.get_by_role("cell", name="45.00 USD")).to_be_visible()
    expect(page.get_by_role("link", name="The bridge's API")).to_be_visible()
    assert_accessible(page)
    screenshot(page, f"site-landing-{size}")
    assert refused == []
    context.close()


def test_the_api_docs_work_offline(page: Page, bridge: Bridge) -> None:
    refused = _closed_network(page, bridge)
    page.goto(bridge.url + "/docs")
    expect(page.locator(".swagger-ui .title")).to_contain_text("Fairgate bridge", timeout=20_000)
    expect(page.get_by_text("/orders/{order_id}", exact=True).first).to_be_visible()
    screenshot(page, "site-docs-desktop")
    assert refused == [], refused
    assert bridge.get("/redoc").status_code == 404  # FastAPI's CDN-loaded pages are off


def test_checkout_shows_the_order_then_follows_it_to_minted(
    browser: Browser, bridge: Bridge, event: dict[str, Any]
) -> None:
    order = _order(bridge, event, 2)
    checkout = f"{bridge.url}/checkout/{order['payment_ref']}"
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    refused = _closed_network(page, bridge)
    page.goto(checkout)
    summary = page.locator("dl.summary")
    expect(summary).to_contain_text("Harbour Lights")
    expect(summary).to_contain_text("Standing")
    expect(summary).to_contain_text("2 tickets at 45.00 USD")
    expect(summary).to_contain_text("90.00 USD")
    expect(page.get_by_role("status")).to_have_text("Not paid yet.")
    assert_accessible(page)
    screenshot(page, "site-checkout-unpaid-desktop")

    page.get_by_role("button", name="Pay 90.00 USD").click()
    expect(page.get_by_role("status")).to_contain_text("Paid. Your tickets are being minted")
    expect(page.get_by_role("button", name="Pay 90.00 USD")).to_be_hidden()
    bridge.worker().run(until_idle=True)
    expect(page.get_by_role("status")).to_have_text(
        "Paid, and your tickets are minted.", timeout=20_000
    )
    expect(page.locator("#ticket-list li")).to_have_count(2)
    screenshot(page, "site-checkout-minted-desktop")
    assert refused == []
    context.close()

    # reopened after payment: its state, never "Pay" again
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    again = phone.new_page()
    again.goto(checkout)
    expect(again.get_by_role("status")).to_have_text("Paid, and your tickets are minted.")
    expect(again.get_by_role("button", name="Pay 90.00 USD")).to_be_hidden()
    expect(again.locator("#ticket-list li")).to_have_count(2)
    assert_accessible(again)
    screenshot(again, "site-checkout-reopened-phone")
    phone.close()


def test_a_declined_card_says_so_and_the_page_can_try_again(
    page: Page, bridge: Bridge, event: dict[str, Any]
) -> None:
    order = _order(bridge, event, 1)
    page.goto(f"{bridge.url}/checkout/{order['payment_ref']}")
    page.get_by_label("Card number").fill("4000 0000 0000 0002")
    page.get_by_role("button", name="Pay 45.00 USD").click()
    expect(page.get_by_role("status")).to_contain_text("declined")
    screenshot(page, "site-checkout-declined-desktop")


def test_the_bridge_mounts_the_ipfs_gateway_of_its_store(tmp_path: Path) -> None:
    """``/ipfs/<cid>/event.json`` of the dev stack: the bridge serves its own metadata store."""
    settings = Settings(env="test", home=tmp_path)
    bundle = erc721.build_event_bundle(
        erc721.Event(
            name="Harbour Lights",
            description="",
            venue="Pier 4",
            start_time=datetime(2031, 6, 1, 20, tzinfo=UTC),
            image=(PROJECT_ROOT / "examples" / "poster.png").read_bytes(),
        ),
        [erc721.Tier(tier_id=0, name="Standing")],
    )
    cid = store_from_settings(settings).put_directory(bundle.files)
    engine = make_engine(settings)
    upgrade(engine)
    client = TestClient(create_app(settings, engine=engine, with_chain=False))
    shown = client.get(f"/ipfs/{cid}/event.json")
    assert shown.status_code == 200, shown.text
    assert shown.json()["name"] == "Harbour Lights"
    assert client.get(f"/ipfs/{cid}/tiers/0").json()["name"].endswith("Standing")
    landing = client.get("/")
    assert landing.status_code == 200 and "Nothing is on sale yet" in landing.text
    docs = client.get("/docs")
    assert "/assets/docs/swagger-ui-bundle.js" in docs.text and "cdn" not in docs.text.lower()
    assert client.get("/assets/docs/swagger-ui-bundle.js").status_code == 200
