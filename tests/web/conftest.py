"""Fixtures for tests that talk HTTP to a real Wharfinger app."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import AppStarter
from tests.web.world import World, build_world
from web.settings import Settings


@pytest.fixture
async def client(settings: Settings, start_app: AppStarter) -> TestClient:  # type: ignore[type-arg]
    return await start_app(settings)


@pytest.fixture
async def world(client: TestClient) -> World:  # type: ignore[type-arg]
    return await build_world(client)
