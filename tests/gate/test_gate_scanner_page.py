"""The scanner page in real Chromium, reading codes through a fake camera, against the real
gate device service (gate/app.py under uvicorn), a real event on Ganache and real proofs.

One browser, one camera video: Chromium plays a file of scenes in a loop (an empty view, the
holder's live code, empty, the same code again, empty, a screenshot of an old window's code,
empty, a QR code of random text). The page must give one verdict per scene, in order. Then the
typed/pasted fallback takes hostile codes, the hub goes down (admissions go on), comes back
(the background sync pushes them), and the pages are screenshotted and checked by axe-core at
desktop and phone size.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Playwright, expect
from pydantic import SecretStr

from fairgate.settings import Settings
from gate.service import GateService
from tests.web.browser import (
    DESKTOP,
    PHONE,
    assert_accessible,
    launch_chromium,
    screenshot,
    write_y4m_sequence,
)
from tests.web.gate_scanner import GateServer, qr_image
from zk import payload
from zk.field import P
from zk.identity import WINDOW_S, time_window, window_challenge

EventWorld = Any  # tests/gate/conftest.py's EventWorld
NO_CAMERA = """navigator.mediaDevices.getUserMedia = () =>
  Promise.reject(new DOMException("no camera here", "NotFoundError"));"""
SKEW_S = 60  # generous: the live code must stay valid while a loaded machine starts Chromium


@pytest.fixture()
def gate(
    new_world: type[EventWorld], verifier: Any, tmp_path: Path, hub: Any
) -> Iterator[tuple[EventWorld, GateService]]:
    world = new_world(600)
    world.mint("alice", 4)
    world.publish()
    settings = Settings(
        env="test",
        home=tmp_path,
        gate_id="3",
        root_grace_s=600,
        gate_hub_url=hub.url,
        gate_api_key=SecretStr(hub.register(world.address, "3")),
        gate_hub_timeout_s=1.0,
        gate_window_skew_s=SKEW_S,
    )
    service = GateService.open(
        event=world.address,
        chain_id=world.platform.chain_id,
        client=world.as_role("gate"),
        verifier=verifier,
        settings=settings,
        folder=tmp_path / "gate-3",
    )
    assert service.roots.sync()
    yield world, service
    service.close()


def verdicts(page: Page) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = page.evaluate("() => window.fairgateScanner.verdicts")
    return result


def wait_verdicts(page: Page, n: int, timeout_s: float = 60) -> list[dict[str, Any]]:
    page.wait_for_function(
        f"() => window.fairgateScanner.verdicts.length >= {n}", timeout=timeout_s * 1000
    )
    return verdicts(page)


def test_scanner_reads_codes_from_the_camera_and_keeps_working_offline(
    gate: tuple[EventWorld, GateService], hub: Any, tmp_path: Path, playwright: Playwright
) -> None:
    world, service = gate
    now_window = time_window(time.time())
    live = world.prove(0, window_challenge(world.scope, now_window))
    old = world.prove(1, window_challenge(world.scope, now_window - (SKEW_S // WINDOW_S + 3)))
    video = write_y4m_sequence(
        tmp_path / "camera.y4m",
        [
            (None, 2),
            (qr_image(live), 2),
            (None, 2.4),  # longer than the page's 1.5 s "same code still in view"
            (qr_image(live), 2),
            (None, 2.4),
            (qr_image(old), 2),
            (None, 2.4),
            (qr_image("WIFI:S:venue-guest;T:WPA;P:letmein;;"), 2),
            (None, 30),  # then a quiet camera while the rest is typed
        ],
    )
    with GateServer(service, sync_every_s=1) as server:
        browser = launch_chromium(playwright, fake_camera=video)
        context = browser.new_context(viewport=DESKTOP)
        page = context.new_page()
        page.goto(server.pairing_link)
        expect(page.locator("#camera-state")).to_contain_text("scanning", timeout=20_000)
        assert "#key" not in page.url  # the key left the address bar at once

        seen = wait_verdicts(page, 4, timeout_s=90)[:4]
        assert [(v["code"], v["title"]) for v in seen] == [
            ("admitted", "Admitted"),
            ("nullifier_used", "Already used"),
            ("code_expired", "Code expired"),
            ("malformed", "Not a ticket code"),
        ], seen
        assert seen[1]["reason"].startswith("already used at this gate at ")
        assert seen[2]["reason"].startswith("code expired (its time window ended at ")
        assert service.store.count(world.address) == 1  # refusals recorded nothing
        assert page.get_attribute("#verdict", "data-sound") == "refused"  # the refusal tone
        screenshot(page, "scanner-desktop-verdict")

        # hostile codes typed or pasted: each refused with a reason, nothing recorded
        valid = payload.decode(world.prove(2, window_challenge(world.scope, now_window)))
        body = bytearray(
            valid.proof + b"".join(x.to_bytes(32, "big") for x in valid.public.as_list())
        )
        body[352:384] = (P + 1).to_bytes(32, "big")  # challenge out of the field's modulus
        hostile = [
            ("FG1:" + payload.b45encode(bytes(body)), "outside the BN254 scalar field"),
            ("FG1:" + "Z" * 20_000, "code too large"),
            ("DROP TABLE checkins; --", "not a Fairgate v1 gate payload"),
        ]
        before = len(verdicts(page))
        for i, (code, reason) in enumerate(hostile, start=1):
            page.fill("#paste-code", code)
            page.click("text=Check code")
            got = wait_verdicts(page, before + i)[-1]
            assert not got["admitted"] and reason in got["reason"], got
            expect(page.locator("#verdict-reason")).to_contain_text(reason)
        assert service.store.count(world.address) == 1
        expect(page.locator("#verdict-ready")).to_be_visible()  # 0.7 s after a verdict

        # the hub goes down: the door keeps admitting, and the page says it is offline
        hub.stop()
        expect(page.locator("#online")).to_have_text("Offline: scanning goes on", timeout=15_000)
        page.fill("#paste-code", payload.encode(valid))
        page.click("text=Check code")
        expect(page.locator("#verdict-title")).to_have_text("Admitted")
        expect(page.locator("#waiting")).to_have_text("1", timeout=10_000)
        screenshot(page, "scanner-desktop-offline")
        hub.start()  # the background sync pushes the admission made offline
        expect(page.locator("#online")).to_have_text("Online", timeout=15_000)
        expect(page.locator("#waiting")).to_have_text("0", timeout=10_000)
        expect(page.locator("#last-sync")).not_to_have_text("never")
        counters = {
            row.get_attribute("data-counter"): row.locator("td").inner_text()
            for row in page.locator("#counters tr").all()
        }
        assert counters["admitted"] == "2" and counters["already_used"] == "1"
        assert counters["expired"] == "1" and counters["unreadable"] == "3"
        assert_accessible(page)

        # a phone-sized staff device without a camera, paired by the same link: it types codes
        phone_context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        phone_context.add_init_script(NO_CAMERA)
        phone = phone_context.new_page()
        phone.goto(server.pairing_link)
        expect(phone.locator("#online")).to_have_text("Online", timeout=15_000)
        expect(phone.locator("#camera-state")).to_have_text(
            "No camera (NotFoundError): type or paste codes below."
        )
        phone.fill("#paste-code", live)
        phone.click("text=Check code")
        expect(phone.locator("#verdict-title")).to_have_text("Already used")
        screenshot(phone, "scanner-phone-verdict")
        assert_accessible(phone)

        tablet = browser.new_context(viewport={"width": 820, "height": 1180}, has_touch=True)
        tablet.add_init_script(NO_CAMERA)  # this test's camera video plays for one page only
        tab = tablet.new_page()
        tab.goto(server.pairing_link)
        expect(tab.locator("#online")).to_have_text("Online", timeout=15_000)
        expect(tab.locator("#recent li").first).to_contain_text("Already used")  # the gate's list
        screenshot(tab, "scanner-tablet")

        # a browser without the key gets only the pairing form
        stranger = browser.new_context(viewport=PHONE).new_page()
        stranger.goto(server.url + "/scanner")
        expect(stranger.locator("#pair-title")).to_be_visible()
        assert stranger.locator("#scanner").is_hidden()
        screenshot(stranger, "scanner-phone-unpaired")
        assert_accessible(stranger)
        browser.close()
