"""Fixtures for REST API tests: the test world and a caller that signs requests as its users."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from tests.web.api.helpers import Api
from tests.web.world import World


@pytest.fixture
async def api(client: TestClient, world: World) -> Api:  # type: ignore[type-arg]
    return Api(client, world)
