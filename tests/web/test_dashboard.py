"""The organizer dashboard in real Chromium against a real bridge and chain: Sign-In with
Ethereum through the injected EIP-6963 test wallet (tests/web/test_wallet.js, whose signatures
come from the dev node's unlocked account), the pages at desktop and phone size (screenshots in
reports/screenshots, axe-core clean)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from playwright.sync_api import Browser, Page, expect
from web3 import Web3

from chain.ganache import GanacheRunner
from tests.web.browser import assert_accessible, screenshot
from tests.web.fan_stack import ADMIN_KEY, Bridge, running_bridge, wallet, wallet_context


@pytest.fixture(scope="module")
def bridge(
    ganache: GanacheRunner, w3: Web3, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Bridge]:
    with running_bridge(ganache, w3, tmp_path_factory.mktemp("dashboard")) as b:
        yield b


@pytest.fixture(scope="module")
def organizer(bridge: Bridge, dev_accounts: list[LocalAccount]) -> dict[str, Any]:
    """An organizer whose payout wallet is dev account 6 (unlocked on the node)."""
    account = dev_accounts[6]
    r = bridge.post(
        "/admin/organizers",
        json={"name": "Riverside Hall", "payout_address": account.address},
        headers={"X-API-Key": ADMIN_KEY},
    )
    assert r.status_code == 201, r.text
    return {**r.json(), "address": account.address}


def signed_in_page(
    browser: Browser, ganache: GanacheRunner, bridge: Bridge, address: str, *, phone: bool = False
) -> Page:
    context = wallet_context(browser, [wallet("Test Wallet", address, ganache)], phone=phone)
    page = context.new_page()
    page.goto(bridge.url + "/dashboard")
    expect(page).to_have_url(bridge.url + "/dashboard/login?next=/dashboard")
    page.get_by_role("button", name="Sign in with Test Wallet").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Riverside Hall")
    return page


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_sign_in_with_the_wallet(
    browser: Browser, ganache: GanacheRunner, bridge: Bridge, organizer: dict[str, Any], phone
) -> None:
    context = wallet_context(
        browser, [wallet("Test Wallet", organizer["address"], ganache)], phone=phone
    )
    page = context.new_page()
    page.goto(bridge.url + "/dashboard/login")
    expect(page.get_by_role("button", name="Sign in with Test Wallet")).to_be_visible()
    assert_accessible(page)
    screenshot(page, f"dashboard-login-{'phone' if phone else 'desktop'}")
    page.get_by_role("button", name="Sign in with Test Wallet").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Riverside Hall")
    cookie = next(c for c in context.cookies() if c["name"] == "fg_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie").find("fg_session") == -1  # HttpOnly: not readable
    assert_accessible(page)
    screenshot(page, f"dashboard-events-{'phone' if phone else 'desktop'}")
    page.goto(bridge.url + "/dashboard/audit")
    expect(page.locator("#audit")).to_contain_text("sign_in")
    assert_accessible(page)
    screenshot(page, f"dashboard-audit-{'phone' if phone else 'desktop'}")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(bridge.url + "/dashboard/login")
    context.close()


def test_a_wallet_of_no_organizer_is_told_so(
    browser: Browser, ganache: GanacheRunner, bridge: Bridge, dev_accounts: list[LocalAccount]
) -> None:
    context = wallet_context(browser, [wallet("Test Wallet", dev_accounts[7].address, ganache)])
    page = context.new_page()
    page.goto(bridge.url + "/dashboard/login")
    page.get_by_role("button", name="Sign in with Test Wallet").click()
    expect(page.get_by_role("alert")).to_contain_text("not the wallet of any organizer")
    context.close()
