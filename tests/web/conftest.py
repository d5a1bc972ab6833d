"""Fixtures for tests that talk HTTP to a real Wharfinger app (pytest-aiohttp)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient

from tests.web.world import World, build_world
from web.app import create_app
from web.settings import Settings

ClientFactory = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]


@pytest.fixture
async def client(settings: Settings, aiohttp_client: ClientFactory) -> TestClient:  # type: ignore[type-arg]
    # `settings` first: fixtures are torn down in reverse order, so the app must stop before its
    # PostgreSQL schema is dropped.
    return await aiohttp_client(create_app(settings))


@pytest.fixture
async def world(client: TestClient) -> World:  # type: ignore[type-arg]
    return await build_world(client)
