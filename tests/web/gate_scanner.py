"""Helpers to drive the gate scanner page (gate/app.py) in Chromium with a fake camera: the gate
device's service under uvicorn, a QR image as a phone shows it, and one scan of an image."""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import qrcode
import qrcode.constants
import uvicorn
from PIL import Image
from playwright.sync_api import BrowserType, Playwright

from chain.ganache import free_port
from gate.app import create_gate_app, pairing_link
from gate.service import GateService
from tests.web.browser import launch_chromium, write_y4m_sequence

STAFF_KEY = "fgs_" + "s" * 40


def qr_image(text: str) -> Image.Image:
    """The QR code as a phone shows it: 4 pixels per module, no resampling."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=4, border=4)
    code.add_data(text)
    code.make(fit=True)
    image: Image.Image = code.make_image().get_image()
    return image


class GateServer:
    """The gate device's service served by uvicorn on a free port, in a thread."""

    def __init__(self, service: GateService, sync_every_s: float | None = None) -> None:
        self.app = create_gate_app(
            service, staff_key=STAFF_KEY, name="Scanner test", sync_every_s=sync_every_s
        )
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(self.app, host="127.0.0.1", port=port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def pairing_link(self) -> str:
        return pairing_link(self.url, STAFF_KEY)

    def __enter__(self) -> GateServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "gate service did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def scan_image(
    pw: Playwright | BrowserType, service: GateService, image: Image.Image
) -> dict[str, Any]:
    """Show ``image`` to the scanner page's (fake) camera once; the verdict the page shows."""
    with tempfile.TemporaryDirectory(prefix="scanner-") as tmp, GateServer(service) as server:
        video = write_y4m_sequence(Path(tmp) / "camera.y4m", [(None, 1), (image, 2), (None, 30)])
        browser = launch_chromium(pw, fake_camera=video)
        try:
            page = browser.new_page()
            page.goto(server.pairing_link)
            page.wait_for_function(
                "() => window.fairgateScanner.verdicts.length >= 1", timeout=60_000
            )
            verdict: dict[str, Any] = page.evaluate("() => window.fairgateScanner.verdicts[0]")
            verdict["shown"] = page.locator("#verdict-title").inner_text()
            return verdict
        finally:
            browser.close()
