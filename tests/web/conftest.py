"""Browser fixtures: one headless Chromium per session (on the session's one Playwright, in
tests/conftest.py), a fresh context (its
own cookies and storage) per test, at desktop or phone size. Helpers are in ``browser.py``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Playwright

from tests.web.browser import DESKTOP, PHONE, launch_chromium


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = launch_chromium(playwright)
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A desktop-sized page in a fresh context."""
    context = browser.new_context(viewport=DESKTOP)
    yield context.new_page()
    context.close()


@pytest.fixture
def phone_page(browser: Browser) -> Iterator[Page]:
    """A phone-sized page (touch, mobile viewport) in a fresh context."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    yield context.new_page()
    context.close()
