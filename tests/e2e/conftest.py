"""A real Wharfinger on a TCP port, a real Distribution registry trusting it, and skopeo."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import AppStarter
from tests.e2e.registry import RegistryProcess
from tests.e2e.skopeo import Skopeo
from tests.web.world import SERVICE, World, build_world
from web.appkeys import SERVICES
from web.settings import Settings


@dataclass
class Stack:
    client: TestClient  # type: ignore[type-arg]
    world: World
    registry: RegistryProcess
    skopeo: Skopeo
    realm: str


@pytest.fixture
async def stack(settings: Settings, start_app: AppStarter,
                tmp_path: Path) -> AsyncIterator[Stack]:
    client = await start_app(settings)
    world = await build_world(client)
    services = client.app[SERVICES]
    realm = f"http://127.0.0.1:{client.port}/v2/token"
    registry = await asyncio.to_thread(
        RegistryProcess.start, tmp_path / "registry", realm=realm, service=SERVICE,
        issuer=settings.issuer, rootcertbundle=services.signing_key.certificate_path)
    try:
        yield Stack(client, world, registry, Skopeo(tmp_path / "skopeo"), realm)
    finally:
        await asyncio.to_thread(registry.stop)
