"""Shared helpers for the browser tests: Debian's Chromium through Playwright, screenshots,
axe-core accessibility checks and a fake camera.

Playwright cannot download its own browser here, so it launches Debian's ``chromium``
(``FAIRGATE_CHROMIUM`` overrides the path) with the flags this closed network needs. Pages are
checked at two sizes, a desktop window and a phone; screenshots go to ``reports/screenshots``
(CI keeps ``reports/``), where a person can look at them.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from PIL import Image
from playwright.sync_api import Browser, BrowserType, Page, Playwright

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("FAIRGATE_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = ROOT / "reports" / "screenshots"
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

# As root, without a sandbox; no GPU; and nothing that calls home (this machine's network is
# closed: without these, Chromium keeps opening connections that are refused).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def launch_chromium(pw: Playwright | BrowserType, *, fake_camera: Path | None = None) -> Browser:
    """Headless Chromium; with ``fake_camera`` (a .y4m file) ``getUserMedia`` plays that video
    and camera permission is granted without a prompt. ``pw`` may be the Playwright or its
    Chromium ``BrowserType`` (``browser.browser_type``: a second browser beside a running one)."""
    args = list(CHROMIUM_ARGS)
    if fake_camera is not None:
        args += [
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={fake_camera}",
        ]
    chromium = pw if isinstance(pw, BrowserType) else pw.chromium
    return chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args)


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as ``reports/screenshots/<name>.png`` and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(
    page: Page, *, impacts: tuple[str, ...] = ("serious", "critical")
) -> list[dict[str, Any]]:
    """axe-core's violations on the page (WCAG 2.1 A and AA rules) of the given impacts, each
    as ``{"id", "impact", "help", "targets"}``."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE_JS.read_text())
    result = page.evaluate(
        """async () => {
            const r = await window.axe.run(document, {
                runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
            });
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.map(n => n.target.join(' '))}));
        }"""
    )
    return [v for v in result if v["impact"] in impacts]


def assert_accessible(page: Page) -> None:
    """Fail with axe-core's findings when the page has a serious or critical violation."""
    found = axe_violations(page)
    assert not found, "accessibility violations:\n" + json.dumps(found, indent=2)


def write_y4m(path: Path, image: Image.Image, *, seconds: float = 3.0, fps: int = 10) -> Path:
    """A fake-camera video that shows ``image`` (centred on white, 640x480) for ``seconds``.

    Chromium loops the file. The format is YUV4MPEG2 4:2:0: per frame the grey plane, then two
    chroma planes of 128 (no colour), as toolchain.md describes.
    """
    width, height = 640, 480
    frame = Image.new("L", (width, height), 255)
    picture = image.convert("L")
    picture.thumbnail((width - 40, height - 40))
    frame.paste(picture, ((width - picture.width) // 2, (height - picture.height) // 2))
    grey = frame.tobytes()
    chroma = bytes([128]) * (width // 2 * height // 2)
    header = f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode()
    with path.open("wb") as out:
        out.write(header)
        for _ in range(max(1, int(seconds * fps))):
            out.write(b"FRAME\n" + grey + chroma + chroma)
    return path


def write_y4m_sequence(
    path: Path, scenes: list[tuple[Image.Image | None, float]], *, fps: int = 5
) -> Path:
    """A fake-camera video of scenes, each ``(image or None for an empty white view, seconds)``,
    every image centred on white (640x480) as in :func:`write_y4m`. Chromium loops it."""
    width, height = 640, 480
    chroma = bytes([128]) * (width // 2 * height // 2)
    header = f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode()
    with path.open("wb") as out:
        out.write(header)
        for image, seconds in scenes:
            frame = Image.new("L", (width, height), 255)
            if image is not None:
                picture = image.convert("L")
                picture.thumbnail((width - 40, height - 40))
                frame.paste(picture, ((width - picture.width) // 2, (height - picture.height) // 2))
            data = b"FRAME\n" + frame.tobytes() + chroma + chroma
            for _ in range(max(1, round(seconds * fps))):
                out.write(data)
    return path
