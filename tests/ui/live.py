"""A real Wharfinger on a free TCP port, run in its own thread and event loop.

Playwright's sync API must not run inside pytest-asyncio's loop (setup-notes.md), so browser
tests are plain functions and the server lives in a thread; `call` runs a coroutine there.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from aiohttp import web

from web.app import create_app
from web.appkeys import SERVICES
from web.services import Services
from web.settings import Settings

T = TypeVar("T")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


class LiveServer:
    def __init__(self, settings: Settings) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="live-wharfinger",
                                        daemon=True)
        self._thread.start()
        self._runner = web.AppRunner(create_app(settings))
        self.port = self.call(self._start)

    async def _start(self) -> int:
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        return int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def services(self) -> Services:
        return self._runner.app[SERVICES]

    def call(self, coro: Callable[[], Coroutine[Any, Any, T]], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro(), self._loop).result(timeout)

    def execute(self, command: Callable[[], T]) -> T:
        """Run a domain command on the server, waiting for its projection (read-your-writes)."""
        return self.call(lambda: self.services.execute(command))

    def stop(self) -> None:
        try:
            self.call(self._runner.cleanup)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()
