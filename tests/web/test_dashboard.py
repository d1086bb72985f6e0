"""The organizer dashboard in real Chromium against a real bridge and chain: Sign-In with
Ethereum through the injected EIP-6963 test wallet (tests/web/test_wallet.js, whose signatures
come from the dev node's unlocked account), the second factor, an event created in the browser
(IPFS, chain, CLI), and the live page (a sale and a gate scan appear without reload). Desktop
and phone screenshots in reports/screenshots, axe-core clean."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
from eth_account.signers.local import LocalAccount
from playwright.sync_api import Browser, Page, expect
from web3 import Web3

from api.schemas import FIELD_MODULUS
from chain.ganache import GanacheRunner
from chain.keys import dev_signer
from chain.sender import TransactionSender
from chain.ticket_event import TicketEventClient
from metadata.store import store_from_settings
from tests.web.browser import assert_accessible, screenshot
from tests.web.fan_stack import ADMIN_KEY, Bridge, poster, running_bridge, wallet, wallet_context

GATE_DEVICE = "http://127.0.0.1:8100"


@pytest.fixture(scope="module")
def bridge(
    ganache: GanacheRunner, w3: Web3, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Bridge]:
    home = tmp_path_factory.mktemp("dashboard")
    with running_bridge(ganache, w3, home, gate_device_url=GATE_DEVICE) as b:
        yield b


def new_organizer(bridge: Bridge, name: str, account: LocalAccount) -> dict[str, Any]:
    r = bridge.post(
        "/admin/organizers",
        json={"name": name, "payout_address": account.address},
        headers={"X-API-Key": ADMIN_KEY},
    )
    assert r.status_code == 201, r.text
    return {**r.json(), "address": account.address}


@pytest.fixture(scope="module")
def organizer(bridge: Bridge, dev_accounts: list[LocalAccount]) -> dict[str, Any]:
    """An organizer whose payout wallet is dev account 6 (unlocked on the node)."""
    return new_organizer(bridge, "Riverside Hall", dev_accounts[6])


def api_event(bridge: Bridge, organizer: dict[str, Any], name: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    body = {
        "name": name,
        "symbol": "LIVE",
        "venue": "Riverside",
        "starts_at": (now + timedelta(days=20)).isoformat(),
        "ends_at": (now + timedelta(days=21)).isoformat(),
        "tiers": [
            {
                "name": "Floor",
                "price_cents": 4000,
                "face_value_wei": 10**15,
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


def sign_in(page: Page, bridge: Bridge, heading: str, path: str = "/dashboard") -> None:
    page.goto(bridge.url + path)
    expect(page).to_have_url(f"{bridge.url}/dashboard/login?next={path}")
    page.get_by_role("button", name="Sign in with Test Wallet").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(heading)


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_sign_in_with_the_wallet(
    browser: Browser, ganache: GanacheRunner, bridge: Bridge, organizer: dict[str, Any], phone
) -> None:
    size = "phone" if phone else "desktop"
    context = wallet_context(
        browser, [wallet("Test Wallet", organizer["address"], ganache)], phone=phone
    )
    page = context.new_page()
    page.goto(bridge.url + "/dashboard/login")
    expect(page.get_by_role("button", name="Sign in with Test Wallet")).to_be_visible()
    assert_accessible(page)
    screenshot(page, f"dashboard-login-{size}")
    page.get_by_role("button", name="Sign in with Test Wallet").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Riverside Hall")
    cookie = next(c for c in context.cookies() if c["name"] == "fg_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie").find("fg_session") == -1  # HttpOnly: not readable
    assert_accessible(page)
    screenshot(page, f"dashboard-events-{size}")
    page.goto(bridge.url + "/dashboard/audit")
    expect(page.locator("#audit")).to_contain_text("sign_in")
    assert_accessible(page)
    screenshot(page, f"dashboard-audit-{size}")
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


def test_second_factor_and_a_paired_gate_key(
    browser: Browser, ganache: GanacheRunner, bridge: Bridge, dev_accounts: list[LocalAccount]
) -> None:
    org = new_organizer(bridge, "Harbour Stage", dev_accounts[5])
    event = api_event(bridge, org, "Harbour Nights")
    context = wallet_context(browser, [wallet("Test Wallet", org["address"], ganache)])
    page = context.new_page()
    sign_in(page, bridge, "Harbour Stage")
    page.get_by_role("link", name="Security").click()
    page.get_by_role("button", name="Set up an authenticator app").click()
    expect(page.locator("#totp-qr")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "dashboard-totp-enrol-desktop")
    secret = page.locator("#totp-secret").inner_text()
    totp = pyotp.TOTP(secret)
    page.get_by_label("Code from the app").fill(totp.now())
    page.get_by_role("button", name="Turn on two-factor").click()
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10
    screenshot(page, "dashboard-recovery-codes-desktop")
    # a gate key needs a fresh code: a wrong one is refused in plain words
    page.goto(f"{bridge.url}/dashboard/events/{event['id']}")
    form = page.locator("#new-gate-key")
    form.get_by_label("Device label").fill("North door")
    form.get_by_label("Authenticator code").fill("000000" if totp.now() != "000000" else "111111")
    form.get_by_role("button", name="Create gate key").click()
    expect(page.locator("#error-message")).to_contain_text("wrong or expired")
    page.goto(f"{bridge.url}/dashboard/events/{event['id']}")
    form = page.locator("#new-gate-key")
    form.get_by_label("Gate", exact=True).fill("north")
    form.get_by_label("Device label").fill("North door")
    form.get_by_label("Authenticator code").fill(codes[0])  # a recovery code, once
    form.get_by_role("button", name="Create gate key").click()
    key = page.locator("#new-key").inner_text()
    assert key.startswith("fg_")
    expect(page.locator("#gate-name")).to_have_text("north")
    link = page.locator("#pairing-link")
    expect(link).to_have_attribute("href", f"{GATE_DEVICE}/scanner#key={key}")
    assert_accessible(page)
    screenshot(page, "dashboard-gate-key-desktop")
    # the key works at the hub, for gate north; the audit log has the story
    hub = f"/gate/events/{event['contract_address'].lower()}"
    use = {"nullifier": "0x" + "77" * 32, "checked_at": 5.0, "root": "0x" + "ab" * 32}
    r = bridge.post(
        f"{hub}/checkins",
        json={"checkins": [{**use, "challenge": "0x" + "cd" * 32}]},
        headers={"X-API-Key": key},
    )
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    gates = bridge.get(f"{hub}/entries", headers={"X-API-Key": org["api_key"]}).json()["gates"]
    assert [g["gate_id"] for g in gates] == ["north"]
    page.goto(f"{bridge.url}/dashboard/events/{event['id']}")
    expect(page.locator("#gate-keys .gate-name")).to_have_text(["north"])
    page.locator("#gates-h").scroll_into_view_if_needed()
    assert_accessible(page)
    screenshot(page, "dashboard-gate-keys-desktop")
    phone = wallet_context(
        browser, [wallet("Test Wallet", org["address"], ganache)], phone=True
    ).new_page()
    sign_in(phone, bridge, "Harbour Nights", f"/dashboard/events/{event['id']}")
    expect(phone.locator("#gate-keys .gate-name")).to_have_text(["north"])
    expect(phone.get_by_label("Gate", exact=True)).to_be_visible()
    assert_accessible(phone)
    screenshot(phone, "dashboard-gate-keys-phone")
    phone.context.close()
    page.goto(bridge.url + "/dashboard/audit")
    for action in ("second_factor_enrol", "gate_key_create", "event_create", "sign_in"):
        expect(page.locator("#audit")).to_contain_text(action)
    context.close()


def test_create_an_event_in_the_browser(
    browser: Browser,
    ganache: GanacheRunner,
    bridge: Bridge,
    organizer: dict[str, Any],
    w3: Web3,
    tmp_path,
) -> None:
    context = wallet_context(browser, [wallet("Test Wallet", organizer["address"], ganache)])
    page = context.new_page()
    sign_in(page, bridge, "Create an event", "/dashboard/events/new")
    assert_accessible(page)
    screenshot(page, "dashboard-new-event-desktop")
    start = (datetime.now(UTC) + timedelta(days=40)).replace(second=0, microsecond=0)
    image = tmp_path / "poster.png"
    image.write_bytes(poster())
    page.get_by_label("Name", exact=True).fill("Autumn Gala")
    page.get_by_label("Venue").fill("Glasshouse")
    page.get_by_label("Doors open (UTC)").fill(start.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Ends (UTC)").fill((start + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Image").set_input_files(str(image))
    page.locator("#tier_name_0").fill("Balcony")
    page.locator("#tier_supply_0").fill("120")
    page.locator("#tier_price_0").fill("55.00")
    page.locator("#tier_face_0").fill("0.002")
    page.locator("#tier_name_1").fill("Stalls")
    page.locator("#tier_supply_1").fill("300")
    page.locator("#tier_price_1").fill("35")
    page.locator("#tier_face_1").fill("0.001")
    page.locator("#tier_cap_pct_1").fill("120")
    page.get_by_role("button", name="Create the event").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Autumn Gala", timeout=90_000)
    event_id = int(page.url.rsplit("/", 1)[1])
    # on-chain: the contract exists, the organizer's wallet owns it, the tiers are right
    out = bridge.get(f"/events/{event_id}").json()
    client = TicketEventClient(w3, out["contract_address"])
    assert client.name() == "Autumn Gala"
    if any(e.get("name") == "pendingOrganizer" for e in client.artifact.abi):
        # two-step hand-over: proposed to the wallet, the operator holds it until it accepts
        assert client.pending_organizer() == organizer["address"]
        page.get_by_role("button", name="Accept the event with my wallet").click()
        assert_accessible(page)
        screenshot(page, "dashboard-accept-desktop")
        page.get_by_role("button", name="Confirm with Test Wallet").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Autumn Gala", timeout=30_000)
        expect(page.locator("#accept")).to_have_count(0)
        assert client.organizer() == organizer["address"]
    else:
        assert client.organizer() == organizer["address"]
    tiers = client.tiers()
    assert [t.supply for t in tiers] == [120, 300]
    assert tiers[1].face_value == 10**15 and tiers[1].resale_cap_bps == 12000
    # on IPFS: the metadata the audit log names
    log = bridge.get("/dashboard/audit.csv", cookies=_cookies(context)).text
    cid = log.split('metadata_cid"": ""', 1)[1].split('"', 1)[0]
    meta = store_from_settings(bridge.settings).get(cid, "event.json")
    assert b"Autumn Gala" in meta and b"Glasshouse" in meta
    assert b"Balcony" in store_from_settings(bridge.settings).get(cid, "tiers/0")
    # in the CLI: the same catalog
    env = {**os.environ, "FAIRGATE_RPC_URL": bridge.settings.rpc_url,
           "FAIRGATE_HOME": str(bridge.settings.home / "deploy")}  # fmt: skip
    cli = subprocess.run(
        [sys.executable, "-m", "cli.main", "fan", "events"], env=env, capture_output=True, text=True
    )
    assert cli.returncode == 0, cli.stderr
    assert "Autumn Gala" in cli.stdout
    # a bad form keeps what was typed and says what is wrong
    page.goto(bridge.url + "/dashboard/events/new")
    page.get_by_label("Name", exact=True).fill("Broken")
    page.get_by_label("Venue").fill("Nowhere")
    page.get_by_label("Doors open (UTC)").fill(start.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Ends (UTC)").fill((start - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Image").set_input_files(str(image))
    page.locator("#tier_name_0").fill("Only")
    page.locator("#tier_supply_0").fill("10")
    page.get_by_role("button", name="Create the event").click()
    expect(page.locator("#form-error")).to_contain_text("ends_at must be after starts_at")
    expect(page.get_by_label("Venue")).to_have_value("Nowhere")
    context.close()


def _cookies(context: Any) -> dict[str, str]:
    return {c["name"]: c["value"] for c in context.cookies()}


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_a_sale_and_a_scan_appear_without_reload(
    browser: Browser,
    ganache: GanacheRunner,
    bridge: Bridge,
    organizer: dict[str, Any],
    w3: Web3,
    phone: bool,
) -> None:
    size = "phone" if phone else "desktop"
    event = api_event(bridge, organizer, f"Live Night {size}")
    gate_key = bridge.post(
        f"/organizer/events/{event['id']}/gate-keys", headers={"X-API-Key": organizer["api_key"]}
    ).json()["api_key"]
    context = wallet_context(
        browser, [wallet("Test Wallet", organizer["address"], ganache)], phone=phone
    )
    page = context.new_page()
    sign_in(page, bridge, f"Live Night {size}", f"/dashboard/events/{event['id']}")
    expect(page.locator("#live-status")).to_contain_text("Live")
    expect(page.locator("#sales-total")).to_have_text("0")
    # a fan buys two tickets with ETH, straight from the contract
    buyer = TransactionSender(w3, dev_signer(8), settings=bridge.settings)
    client = TicketEventClient(w3, event["contract_address"], buyer)
    client.purchase(0, [secrets.randbelow(FIELD_MODULUS - 1) + 1 for _ in range(2)])
    expect(page.locator("#sales-total")).to_have_text("2", timeout=10_000)
    expect(page.locator("#sales-eth")).to_have_text("2")
    expect(page.locator("#tiers tr[data-tier='0'] .n-left")).to_have_text("38")
    # a gate scans a ticket: its device pushes the check-in to the hub
    r = bridge.post(
        f"/gate/events/{event['contract_address'].lower()}/checkins",
        json={
            "checkins": [
                {
                    "nullifier": "0x" + secrets.token_hex(32),
                    "checked_at": time.time(),
                    "root": "0x" + "ab" * 32,
                    "challenge": "0x" + "cd" * 32,
                }
            ]
        },
        headers={"X-API-Key": gate_key},
    )
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    expect(page.locator("#checkins-total")).to_have_text("1", timeout=10_000)
    # the gate refused codes: its sync pushes the counts by reason, the table follows live
    minute = int(time.time() // 60)
    r = bridge.post(
        f"/gate/events/{event['contract_address'].lower()}/refusals",
        json={
            "refusals": [
                {"reason": "nullifier_used", "minute": minute, "count": 3},
                {"reason": "code_expired", "minute": minute, "count": 1},
            ]
        },
        headers={"X-API-Key": gate_key},
    )
    assert r.status_code == 200, r.text
    expect(page.locator("#refusals-total")).to_have_text("4", timeout=10_000)
    expect(page.locator("#refusals tr[data-reason='nullifier_used']")).to_contain_text("3")
    expect(page.locator("#refusals tr[data-reason='code_expired']")).to_contain_text("1")
    refused = page.request.get(f"{bridge.url}/dashboard/events/{event['id']}/export/refusals.csv")
    assert refused.ok and ",nullifier_used,3" in refused.text()
    # the charts drew the numbers the chain and the API have
    drawn = page.evaluate("window.__FG_LIVE__.updates.at(-1)")
    sold_on_chain = sum(t.supply - t.remaining for t in client.tiers())
    assert drawn["total"] == sold_on_chain == 2 and drawn["checkins"] == 1
    stats = page.request.get(f"{bridge.url}/dashboard/events/{event['id']}/stats.json").json()
    assert stats["sales"]["eth"][-1] == 2 and stats["revenue"]["eth_primary"] == 0.002
    assert page.locator("#chart-sales canvas").count() == 1
    assert page.locator("#chart-doors canvas").count() == 1
    assert page.locator("#chart-tiers canvas").count() == 1
    csv = page.request.get(f"{bridge.url}/dashboard/events/{event['id']}/export/sales.csv")
    assert csv.ok and csv.text().count("\n") == 2 and ",eth,0,2," in csv.text()
    # forecasts and signals: too few sales for a forecast yet, nobody suspicious
    expect(page.locator("#forecast")).to_contain_text("fewer than 8 tickets sold yet")
    expect(page.locator("#forecast")).to_contain_text("2 / 40")
    expect(page.locator("#signals")).to_contain_text("None so far")
    insights = page.request.get(f"{bridge.url}/dashboard/events/{event['id']}/insights.json")
    assert insights.json()["forecasts"][0]["sold"] == 2
    if not phone:
        # the buyer flips a ticket at the cap minutes later: a resale, and a signal with evidence
        first = client.next_token_id() - 2
        client.list(first, client.resale_cap(0))
        flipper_buyer = TransactionSender(w3, dev_signer(9), settings=bridge.settings)
        TicketEventClient(w3, event["contract_address"], flipper_buyer).buy(
            first, secrets.randbelow(FIELD_MODULUS - 1) + 1
        )
        expect(page.locator("#resales-count")).to_have_text("1", timeout=10_000)
        expect(page.locator("#resales-at-cap")).to_have_text("1")
        expect(page.locator("#resales")).to_contain_text(f"#{first}")
        flip = page.locator("#signals tr[data-kind='quick_flip']")
        expect(flip).to_contain_text("Quick flip at the cap", timeout=15_000)
        expect(flip).to_contain_text("100% of cap")
        seller = dev_signer(8).address
        expect(flip.locator("td.mono")).to_have_attribute("title", seller)
        royalty = page.locator("#revenue-royalties")
        expect(royalty).not_to_have_text("0.0000")
    assert_accessible(page)
    screenshot(page, f"dashboard-event-live-{size}")
    if phone:  # the other pages at phone size
        for path, name in (("/dashboard/events/new", "new-event"), ("/dashboard/security",
                           "security"), ("/dashboard/keys", "keys")):  # fmt: skip
            page.goto(bridge.url + path)
            assert_accessible(page)
            screenshot(page, f"dashboard-{name}-phone")
    context.close()
