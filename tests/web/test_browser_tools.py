"""The browser tools themselves: Chromium starts offline, axe-core finds what it should, a
screenshot is a real PNG, and the fake camera's video reaches getUserMedia."""

from __future__ import annotations

from pathlib import Path

import qrcode
from playwright.sync_api import Page, Playwright

from tests.web.browser import axe_violations, launch_chromium, screenshot, write_y4m

GOOD = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Fine</title></head>
<body><main><h1>Tickets</h1><button type="button">Buy</button></main></body></html>"""
BAD = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Bad</title></head>
<body><main><h1>Tickets</h1><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
</main></body></html>"""


def test_axe_passes_a_clean_page_and_finds_a_missing_alt(page: Page) -> None:
    page.set_content(GOOD)
    assert axe_violations(page) == []
    page.set_content(BAD)
    assert [v["id"] for v in axe_violations(page)] == ["image-alt"]


def test_screenshots_are_pngs_of_the_page(phone_page: Page) -> None:
    phone_page.set_content(GOOD)
    path = screenshot(phone_page, "browser-tools-phone")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_fake_camera_plays_a_y4m_video(playwright: Playwright, tmp_path: Path) -> None:
    video = write_y4m(tmp_path / "qr.y4m", qrcode.make("FG1:HELLO").get_image(), seconds=1)
    browser = launch_chromium(playwright, fake_camera=video)
    try:
        page = browser.new_page()
        # a camera needs a secure context: localhost is one (served here by Playwright itself)
        page.route(
            "http://localhost/", lambda route: route.fulfill(body=GOOD, content_type="text/html")
        )
        page.goto("http://localhost/")
        size = page.evaluate(
            """async () => {
                const stream = await navigator.mediaDevices.getUserMedia({video: true});
                const settings = stream.getVideoTracks()[0].getSettings();
                stream.getTracks().forEach(t => t.stop());
                return [settings.width, settings.height];
            }"""
        )
        assert size == [640, 480]
    finally:
        browser.close()
