"""`wharfinger serve` freezes what start-up loaded (web.cli.serving_app): the read models are
out of the cyclic garbage collector's sight once the app has started, as serve starts it."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Iterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from web.appkeys import SERVICES
from web.cli import _run_server, serving_app
from web.settings import Settings


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """Start with nothing frozen, and leave nothing frozen: other tests start apps in this
    process whose cycles must stay collectable."""
    gc.unfreeze()
    try:
        yield
    finally:
        gc.unfreeze()


def tracked_ids() -> set[int]:
    """Ids of the objects the collector walks (gc.get_objects leaves out frozen ones)."""
    return {id(o) for o in gc.get_objects()}


async def test_serve_freezes_the_read_models_start_up_loaded(
        settings: Settings, unfrozen: None) -> None:
    assert gc.get_freeze_count() == 0
    # The app exactly as serve builds it, started through aiohttp's start-up hooks.
    client = TestClient(TestServer(serving_app(settings)))
    await client.start_server()
    try:
        services = client.app[SERVICES]
        models = [services.index, services.directory, services.catalog]
        assert all(gc.is_tracked(m) for m in models)
        # Frozen: out of every generation the collector walks, the read models among them.
        assert gc.get_freeze_count() > 0
        walked = tracked_ids()
        assert [id(m) in walked for m in models] == [False] * len(models)
        # The app still answers once frozen.
        assert (await client.get("/v2/")).status in (200, 401)
    finally:
        await client.close()


async def test_serve_itself_has_frozen_what_it_loaded_once_it_listens(
        settings: Settings, unfrozen: None, capsys: pytest.CaptureFixture[str]) -> None:
    # serve's own start-up, in this process, until it says where it listens.
    serving = asyncio.ensure_future(_run_server(settings, "127.0.0.1", 0))
    try:
        for _ in range(600):
            if "Wharfinger listening" in capsys.readouterr().out or serving.done():
                break
            await asyncio.sleep(0.05)
        assert not serving.done()
        assert gc.get_freeze_count() > 0
    finally:
        serving.cancel()  # as a stop: the runner is cleaned up
        with contextlib.suppress(asyncio.CancelledError):
            await serving
