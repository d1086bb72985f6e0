"""The waiting-room page in Chromium against a real bridge (Redis, chain): a fan arrives before
the sale opens, takes a place behind two others, sees the place, the fans ahead and an estimate,
cannot order while waiting, and is taken to the event page when admitted (at one fan every two
seconds), where the card purchase then goes through. Desktop and phone screenshots go to
reports/screenshots; both pages pass axe."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from lanes import uses
from playwright.sync_api import Browser, expect
from pydantic import SecretStr
from web3 import Web3

from api.shared import SharedState
from api.waiting_room import WaitingRoom
from chain.ganache import GanacheRunner
from tests.api.api_helpers import order_body
from tests.web.browser import DESKTOP, PHONE, assert_accessible, screenshot
from tests.web.fan_stack import Bridge, create_event, running_bridge

REDIS = "redis://127.0.0.1:6379/0"
GATE = "0x" + "6c" * 20


@pytest.fixture(scope="module")
@uses("redis")
def prefix() -> Iterator[str]:
    name = f"test-ops-page-{uuid.uuid4().hex[:8]}:"
    yield name
    shared = SharedState(REDIS, name)
    client = shared.sync_client()
    assert client is not None
    keys = list(client.scan_iter(match=name + "*"))
    if keys:
        client.delete(*keys)
    shared.close()


@pytest.fixture(scope="module")
def bridge(
    ganache: GanacheRunner, w3: Web3, tmp_path_factory: pytest.TempPathFactory, prefix: str
) -> Iterator[Bridge]:
    home = tmp_path_factory.mktemp("queuepage")
    with running_bridge(ganache, w3, home, redis_url=SecretStr(REDIS), redis_prefix=prefix) as b:
        yield b


def open_room(prefix: str, event_id: int, *, in_s: float, rate: float) -> float:
    """Open the event's room, the sale ``in_s`` from now; returns the opening time."""
    opens_at = time.time() + in_s

    async def go() -> None:
        room = WaitingRoom(SharedState(REDIS, prefix), b"unused")
        await room.open(event_id, opens_at=opens_at, rate_per_s=rate)

    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API runs a loop in this thread
        pool.submit(asyncio.run, go()).result()
    return opens_at


def test_a_fan_waits_in_line_and_is_taken_to_the_tickets_when_admitted(
    browser: Browser, bridge: Bridge, prefix: str
) -> None:
    event: dict[str, Any] = create_event(bridge, gate=GATE, name="Harbour Lights")
    open_room(prefix, event["id"], in_s=10.0, rate=0.5)
    for i in range(2):  # two fans were quicker
        with httpx.Client(base_url=bridge.url, headers={"User-Agent": f"early-{i}"}) as early:
            assert early.post(f"/queue/{event['id']}/join").json()["place"] == i + 1

    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{bridge.url}/event/{event['id']}")  # the event page sends fans to the queue
    page.locator("#queue-notice").get_by_role("link", name="Take your place in the queue").click()
    expect(page.get_by_role("heading", name="Take your place")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "queue-join-desktop")
    page.get_by_role("button", name="Join the queue").click()
    status = page.get_by_role("status")
    expect(status).to_contain_text("You are number 3")
    expect(page.locator("#place")).to_have_text("3")
    expect(page.locator("#ahead")).to_have_text("2")
    assert_accessible(page)
    screenshot(page, "queue-waiting-desktop")

    # while waiting, an order from this very browser is refused with the reason
    early_order = context.request.post(
        f"{bridge.url}/orders", data=order_body(event, 1), fail_on_status_code=False
    )
    assert early_order.status == 403
    assert early_order.json()["error"]["code"] == "queue_not_admitted"

    # admitted at one fan every two seconds once the sale opens: the page moves on by itself
    expect(page).to_have_url(re.compile(rf"/event/{event['id']}#tiers-heading$"), timeout=60_000)
    expect(page.locator("#queue-notice")).to_contain_text("You have a place")
    form = page.locator("form.card-buy")
    form.get_by_label("E-mail for the receipt").fill("fan@example.org")
    form.get_by_label("How many").fill("1")
    form.get_by_role("button", name="Buy by card").click()
    expect(page.get_by_role("heading", name="Your order is reserved")).to_be_visible()
    # the admission made one order: a second one with the same token is refused
    again = context.request.post(
        f"{bridge.url}/orders", data=order_body(event, 1), fail_on_status_code=False
    )
    assert again.json()["error"]["code"] == "queue_token_used"
    context.close()

    # the organizer moves the opening ten minutes on: whoever joins now waits (places kept)
    open_room(prefix, event["id"], in_s=600.0, rate=0.5)
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = phone.new_page()
    page.goto(f"{bridge.url}/event/{event['id']}/queue")
    page.get_by_role("button", name="Join the queue").click()
    expect(page.get_by_role("status")).to_contain_text("You are number 4. The sale opens at")
    expect(page.locator("#estimate")).to_contain_text("minutes")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert_accessible(page)
    screenshot(page, "queue-waiting-phone")
    phone.close()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_queue_page_shows_one_labelled_time_in_the_event_s_zone(
    browser: Browser, bridge: Bridge, prefix: str, size: str
) -> None:
    """The status line and the opening time are one clock: the event's (here UTC+01:00), with
    its label, in 24-hour form, in a browser set to another zone and a 12-hour locale."""
    event: dict[str, Any] = create_event(
        bridge, gate=GATE, name=f"Night Tram {size}", utc_offset_min=60
    )
    opens_at = open_room(prefix, event["id"], in_s=900.0, rate=1.0)
    local = datetime.fromtimestamp(opens_at, timezone(timedelta(hours=1)))
    viewport = PHONE if size == "phone" else DESKTOP
    context = browser.new_context(
        viewport=viewport, is_mobile=size == "phone", has_touch=size == "phone",
        timezone_id="America/Los_Angeles", locale="en-US",
    )  # fmt: skip
    page = context.new_page()
    try:
        page.goto(f"{bridge.url}/event/{event['id']}/queue")
        expect(page.locator("section[aria-labelledby=join-title] time")).to_have_text(
            f"{local:%a %d %b %Y, %H:%M:%S} (UTC+01:00)"
        )
        page.get_by_role("button", name="Join the queue").click()
        expect(page.locator("#queue")).to_have_attribute("data-polled", re.compile(r"^\d+$"))
        status = page.get_by_role("status")
        expect(status).to_have_text(
            f"You are number 1. The sale opens at {local:%H:%M:%S} (UTC+01:00); "
            "you will be let in in turn."
        )
        expect(page.locator("#place-title ~ dl time")).to_have_text(
            f"{local:%a %d %b %Y, %H:%M:%S} (UTC+01:00)"
        )
        text = page.locator("#queue").inner_text()
        assert not re.search(r"\b(AM|PM)\b", text), text  # no 12-hour clock anywhere
        assert "UTC+01:00" in text and " UTC<" not in page.content()
        if size == "phone":
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert_accessible(page)
        screenshot(page, f"queue-event-time-{size}")
    finally:
        context.close()
