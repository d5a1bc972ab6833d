"""Console tests: the HTTP fixtures (a real app per test), and for browser tests one Chromium per
session driving a real Wharfinger served from its own thread."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.ui.live import CHROMIUM, CHROMIUM_ARGS, LiveServer
from tests.web.conftest import client, world
from web.settings import Settings

__all__ = ["client", "world"]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium (never a downloaded one); a missing browser fails the test.

    Module scope, not session: Playwright's sync API keeps an event loop running in this thread
    while it is open, and pytest-asyncio's tests in later modules need the thread to themselves.
    """
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def live(settings: Settings) -> Iterator[LiveServer]:
    server = LiveServer(settings)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
