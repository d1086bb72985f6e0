"""The ticket e-mail's claim link, followed in Chromium: a fan who bought by card without a wallet
gets the paid-and-minted e-mail (a real SMTP server in this process, aiosmtpd), opens the link it
carries in a browser with a wallet, and claims the tickets with nothing else to hand (the bridge
never sent the order token: the link carries a claim token of its own). On a cancelled event the
same link shows the cancellation and where the order's refund is, not a claim form.

Real bridge (uvicorn), Ganache and the minting worker; desktop and phone screenshots go to
reports/screenshots; the pages pass axe."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from eth_account.signers.local import LocalAccount
from playwright.sync_api import Browser, Page, expect
from web3 import Web3

from chain.ganache import GanacheRunner, free_port
from chain.ticket_event import TicketEventClient
from tests.api.api_helpers import commitments
from tests.web.browser import assert_accessible, screenshot
from tests.web.fan_stack import (
    Bridge,
    create_event,
    patient_expect,  # noqa: F401 (autouse fixture)
    running_bridge,
    wallet,
    wallet_context,
)

GATE = "0x" + "6d" * 20
LINK = re.compile(r"(http://127\.0\.0\.1:\d+/me\?event=(\d+)&order=([0-9a-f]{32})#claim=(\S+))")


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 2.0.0 accepted"


@pytest.fixture(scope="module")
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def bridge(
    ganache: GanacheRunner,
    w3: Web3,
    tmp_path_factory: pytest.TempPathFactory,
    inbox: tuple[Inbox, int],
) -> Iterator[Bridge]:
    home = tmp_path_factory.mktemp("mail")
    smtp = {"smtp_host": "127.0.0.1", "smtp_port": inbox[1], "smtp_starttls": False}
    with running_bridge(ganache, w3, home, mail_retry_s=0.0, **smtp) as b:
        yield b


def card_order(bridge: Bridge, event: dict[str, Any], quantity: int, mail: str) -> dict[str, Any]:
    """A card order with no wallet (custody), paid with the local test card."""
    r = bridge.post(
        "/orders",
        json={
            "event_id": event["id"], "tier_id": event["tiers"][0]["id"], "quantity": quantity,
            "email": mail, "wallet": "custody", "commitments": commitments(quantity),
        },
    )  # fmt: skip
    assert r.status_code == 201, r.text
    order: dict[str, Any] = r.json()
    paid = bridge.post(
        f"/checkout/{order['payment_ref']}", json={"card_number": "4242424242424242"}
    )
    assert paid.status_code == 200, paid.text
    return order


def mail_to(inbox: Inbox, address: str, subject: str) -> EmailMessage:
    (found,) = [m for m in inbox.messages if m["To"] == address and m["Subject"] == subject]
    return found


def pick(page: Page) -> None:
    page.locator(".pick-wallet").first.click()
    expect(page.locator(".chain-ok")).to_be_visible()


def test_the_claim_link_in_the_e_mail_claims_the_tickets_on_its_own(
    browser: Browser,
    bridge: Bridge,
    inbox: tuple[Inbox, int],
    ganache: GanacheRunner,
    dev_accounts: list[LocalAccount],
    w3: Web3,
) -> None:
    event = create_event(bridge, gate=GATE, name="Lantern Yard")
    order = card_order(bridge, event, 2, "erin@example.com")
    bridge.worker().run(until_idle=True)  # minted, and the e-mail sent
    mail = mail_to(inbox[0], "erin@example.com", "Your tickets for Lantern Yard")
    body = mail.get_content().replace("\r\n", "\n")
    (found,) = LINK.findall(body)
    link, event_id, order_id, token = found
    assert (int(event_id), order_id) == (event["id"], order["id"])
    assert order["order_token"] not in body  # a claim token of its own, not the order token
    assert f"{bridge.url}/event/{event['id']}" in body  # the event's page
    tickets = [int(t) for t in re.findall(r"^  ticket (\d+)$", body, re.M)]
    assert len(tickets) == 2

    # on a phone: the link opens /me with the order filled in, and its token leaves the address
    erin = dev_accounts[-7]
    phone = wallet_context(browser, [wallet("Erin Wallet", erin.address, ganache)], phone=True)
    page = phone.new_page()
    page.goto(link)
    expect(page.locator("#claim-token")).to_have_value(token)
    expect(page.locator("#claim-order")).to_have_value(order["id"])
    expect(page.locator("#claim-filled")).to_be_visible()
    assert "#" not in page.url and token not in page.url
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert_accessible(page)
    screenshot(page, "fan-me-claim-link-phone")
    phone.close()

    # a damaged link is refused in plain words, and claims nothing
    context = wallet_context(browser, [wallet("Erin Wallet", erin.address, ganache)])
    page = context.new_page()
    page.goto(link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB"))
    pick(page)
    page.locator("#claim-form button[type=submit]").click()
    expect(page.locator(".tx[data-state=failed]").first).to_contain_text(
        "the order token does not match"
    )
    # the link opened again in the same tab (only the part after # changes) fills in afresh
    page.goto(link)
    expect(page.locator("#claim-token")).to_have_value(token)
    assert "#" not in page.url
    # the link as received, in a new tab: connect the wallet, claim, and the tickets move to it
    page.close()
    page = context.new_page()
    page.goto(link)
    expect(page.locator("#claim-token")).to_have_value(token)
    pick(page)
    screenshot(page, "fan-me-claim-link-desktop")
    page.get_by_role("button", name="Claim into my wallet").click()
    expect(page.locator(".tx[data-state=confirmed]").first).to_contain_text(
        f"tickets #{tickets[0]}, #{tickets[1]} are being moved to your wallet"
    )
    bridge.worker().run(until_idle=True)
    client = TicketEventClient(w3, event["contract_address"])
    assert [client.owner_of(t) for t in tickets] == [erin.address, erin.address]
    assert_accessible(page)
    context.close()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_me_on_a_cancelled_event_shows_the_cancellation_and_the_refund_not_the_claim_form(
    browser: Browser,
    bridge: Bridge,
    inbox: tuple[Inbox, int],
    ganache: GanacheRunner,
    dev_accounts: list[LocalAccount],
    size: str,
) -> None:
    event = create_event(bridge, gate=GATE, name=f"Last Ferry {size}")
    address = f"fay-{size}@example.com"
    order = card_order(bridge, event, 2, address)
    worker = bridge.worker()
    worker.run(until_idle=True)
    (link, *_), *_ = LINK.findall(
        mail_to(inbox[0], address, f"Your tickets for Last Ferry {size}").get_content()
    )
    cancelled = bridge.post(
        f"/organizer/events/{event['id']}/cancel", headers={"X-API-Key": event["organizer_key"]}
    )
    assert cancelled.status_code == 200, cancelled.text
    worker.run(until_idle=True)  # the card refunded, the custody tickets revoked

    context = wallet_context(
        browser, [wallet("Fay Wallet", dev_accounts[-8].address, ganache)], phone=size == "phone"
    )
    page = context.new_page()
    page.goto(link)
    expect(page.locator("#me-cancelled")).to_be_visible()
    expect(page.locator("#me-cancelled")).to_contain_text("This event is cancelled")
    expect(page.locator("#claim-form")).to_have_count(0)  # nothing to claim any more
    refund = page.locator("#refund-state")
    expect(refund).to_have_attribute("data-state", "revoked")
    expect(refund).to_contain_text(
        f"Order {order['id']} (2 tickets, 90.00 USD): 90.00 USD refunded"
    )
    expect(refund).to_contain_text("revoked; its price is refunded to your card")
    assert "#" not in page.url
    if size == "phone":
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert_accessible(page)
    screenshot(page, f"fan-me-cancelled-refund-{size}")
    # without the link: the fan types the order and its token from the confirmation
    page.goto(f"{bridge.url}/me?event={event['id']}")
    page.locator("#refund-order").fill(order["id"])
    page.locator("#refund-token").fill(order["order_token"])
    page.get_by_role("button", name="Show my refund").click()
    expect(refund).to_have_attribute("data-state", "revoked")
    page.locator("#refund-token").fill("not-the-token")
    page.get_by_role("button", name="Show my refund").click()
    expect(refund).to_have_attribute("data-state", "error")
    expect(refund).to_contain_text("the order token does not match")
    context.close()
    subjects = {m["Subject"] for m in inbox[0].messages if m["To"] == address}
    assert any("revoked" in s or "refunded" in s for s in subjects), subjects
