"""End to end: the real Distribution 2.8 notifies Wharfinger, which lists, reconciles and deletes.

The registry reaches Wharfinger's webhook through a relay that a test can switch off (the registry
then retries); Wharfinger reaches the registry's API at the address it was registered with.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from eventsourcing.utils import get_topic

from domain.repositories import ManifestPulled, Repository, repository_id
from tests.conftest import AppStarter, make_settings
from tests.e2e.registry import RegistryProcess, free_port
from tests.e2e.skopeo import OciImage, Skopeo, build_oci_image
from tests.web.world import World, build_world
from web.appkeys import SERVICES
from web.cli import main as cli_main
from web.registry_sync import reconcile_once
from web.services import Services
from web.settings import Settings

ServerFactory = Callable[..., Awaitable[TestServer]]


@dataclass
class Relay:
    """Forwards the registry's notifications to Wharfinger while `on`; answers 503 otherwise."""

    target: str
    on: bool = True
    forwarded: list[bytes] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        if not self.on:
            return web.Response(status=503)
        body = await request.read()
        headers = {k: v for k, v in request.headers.items()
                   if k in ("Authorization", "Content-Type")}
        async with aiohttp.ClientSession() as session, session.post(
                self.target, data=io.BytesIO(body), headers=headers) as response:
            text = await response.read()
            if response.status < 300:
                self.forwarded.append(body)
            return web.Response(status=response.status, body=text)


@dataclass
class Wired:
    client: TestClient  # type: ignore[type-arg]
    world: World
    registry: RegistryProcess
    skopeo: Skopeo
    relay: Relay
    settings: Settings

    @property
    def services(self) -> Services:
        return self.client.app[SERVICES]

    def creds(self, who: str) -> tuple[str, str]:
        return who, self.world.tokens[who]

    def api(self, who: str = "admin") -> dict[str, str]:
        return {"Portus-Auth": f"{who}:{self.world.tokens[who]}"}

    async def tags(self, repository: str, who: str = "admin") -> dict[str, dict[str, Any]]:
        """The API's tags of `repository` by name ({} while it is not listed)."""
        listed = await (await self.client.get("/api/v1/repositories",
                                              headers=self.api(who))).json()
        repo = next((r for r in listed if r["full_name"] == repository), None)
        if repo is None:
            return {}
        tags = await (await self.client.get(f"/api/v1/repositories/{repo['id']}/tags",
                                            headers=self.api(who))).json()
        return {t["name"]: t for t in tags}

    async def wait_for_tags(self, repository: str, names: set[str],
                            timeout: float) -> dict[str, dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            tags = await self.tags(repository)
            if set(tags) >= names or time.monotonic() > deadline:
                return tags
            await asyncio.sleep(0.02)

    def events_of(self, repository: str) -> list[Any]:
        return list(self.services.store.events.get(repository_id(repository)))


async def _wire(start_app: AppStarter, aiohttp_server: ServerFactory,
                settings: Settings, tmp_path: Path, *, notifications: bool
                ) -> AsyncIterator[Wired]:
    client = await start_app(settings)
    services = client.app[SERVICES]
    relay = Relay(f"http://127.0.0.1:{client.port}/v2/webhooks/events")
    relay_app = web.Application()
    relay_app.router.add_post("/events", relay.handle)
    # The relay holds no storage: its lifetime is pytest-aiohttp's to manage.
    relay_server = await aiohttp_server(relay_app)
    port = free_port()
    host = f"127.0.0.1:{port}"
    world = await build_world(client, service=host)
    registry = await asyncio.to_thread(
        RegistryProcess.start, tmp_path / "registry", port=port,
        realm=f"http://127.0.0.1:{client.port}/v2/token", service=host, issuer=settings.issuer,
        rootcertbundle=services.signing_key.certificate_path,
        notification_url=(f"http://127.0.0.1:{relay_server.port}/events"
                          if notifications else None),
        notification_secret=services.notification_secret)
    try:
        yield Wired(client, world, registry, Skopeo(tmp_path / "skopeo"), relay, settings)
    finally:
        await asyncio.to_thread(registry.stop)


@pytest.fixture
async def wired(settings: Settings, start_app: AppStarter, aiohttp_server: ServerFactory,
                tmp_path: Path) -> AsyncIterator[Wired]:
    async for w in _wire(start_app, aiohttp_server, settings, tmp_path, notifications=True):
        yield w


@pytest.fixture
async def background(database_url: str | None, start_app: AppStarter,
                     aiohttp_server: ServerFactory, tmp_path: Path) -> AsyncIterator[Wired]:
    """Notifications off, and the background reconcile running every second."""
    settings = make_settings(tmp_path / "data", database_url,
                             WHARFINGER_BACKGROUND_SYNC_STRATEGY="update-delete",
                             WHARFINGER_BACKGROUND_SYNC_INTERVAL_SECONDS="1")
    async for w in _wire(start_app, aiohttp_server, settings, tmp_path, notifications=False):
        yield w


@pytest.fixture
async def silent(settings: Settings, start_app: AppStarter, aiohttp_server: ServerFactory,
                 tmp_path: Path) -> AsyncIterator[Wired]:
    """A registry with notifications switched off."""
    async for w in _wire(start_app, aiohttp_server, settings, tmp_path, notifications=False):
        yield w


async def push(w: Wired, image: OciImage, repository: str, tag: str, who: str,
               manifest_format: str | None = None) -> None:
    result = await asyncio.to_thread(w.skopeo.push, image, w.registry.host, repository, tag,
                                     creds=w.creds(who), manifest_format=manifest_format)
    assert result.ok, result.stderr


async def test_pushes_pulls_and_deletes_show_up_with_their_actors(
        wired: Wired, tmp_path: Path) -> None:
    w = wired
    oci = build_oci_image(tmp_path / "oci", "an OCI image", tag="v1")
    docker = build_oci_image(tmp_path / "docker", "a Docker schema 2 image", tag="v2")

    # An OCI push appears through the API within a second of skopeo returning.
    await push(w, oci, "webns/app", "v1", "contributor")
    returned = time.monotonic()
    tags = await w.wait_for_tags("webns/app", {"v1"}, timeout=1.0)
    assert "v1" in tags, f"not listed {time.monotonic() - returned:.2f}s after the push"
    assert time.monotonic() - returned <= 1.0
    v1 = tags["v1"]
    assert (v1["digest"], v1["media_type"]) == (oci.manifest_digest,
                                                "application/vnd.oci.image.manifest.v1+json")
    assert v1["author"]["name"] == "contributor"
    assert v1["size"] > oci.manifest_size  # includereferences: config and layer sizes

    # A Docker schema 2 push appears too.
    await push(w, docker, "webns/app", "v2", "owner", manifest_format="v2s2")
    tags = await w.wait_for_tags("webns/app", {"v2"}, timeout=1.0)
    assert tags["v2"]["media_type"] == "application/vnd.docker.distribution.manifest.v2+json"
    pushed = [e for e in w.events_of("webns/app") if isinstance(e, Repository.TagPushed)]
    assert [(e.tag, e.actor) for e in pushed] == [("v1", "contributor"), ("v2", "owner")]
    assert all(e.client_addr.startswith("127.0.0.1:") and "skopeo" in e.user_agent
               for e in pushed)

    # A pull is recorded with its actor.
    pulled = await asyncio.to_thread(w.skopeo.pull, w.registry.host, "webns/app", "v1",
                                     tmp_path / "pulled", creds=w.creds("viewer"))
    assert pulled.ok, pulled.stderr
    deadline = time.monotonic() + 3
    while (await w.tags("webns/app"))["v1"]["last_pulled_at"] is None:
        assert time.monotonic() < deadline, "the pull was not recorded"
        await asyncio.sleep(0.05)
    pulls = w.services.audit.recorder.select_notifications(
        start=None, limit=50, topics=[get_topic(ManifestPulled)])
    facts = [w.services.audit.mapper.to_domain_event(n) for n in pulls]
    assert ("viewer", "v1") in {(f.actor, f.tag) for f in facts}

    # A notification replayed twice is recorded once.
    envelope = next(b for b in w.relay.forwarded
                    if any(e["action"] == "push" and e["target"].get("tag") == "v1"
                           for e in json.loads(b)["events"]))
    before = len(w.events_of("webns/app"))
    for _ in range(2):
        response = await w.client.post("/v2/webhooks/events", data=io.BytesIO(envelope),
                                       headers={"Authorization":
                                                f"Bearer {w.services.notification_secret}",
                                                "Content-Type": "application/json"})
        assert response.status == 202
        assert (await response.json())["recorded"] == 0
    assert len(w.events_of("webns/app")) == before

    # A delete made at the registry (skopeo, by the owner) is recorded with its actor.
    deleted = await asyncio.to_thread(w.skopeo.delete, w.registry.host, "webns/app", "v2",
                                      creds=w.creds("owner"))
    assert deleted.ok, deleted.stderr
    deadline = time.monotonic() + 3
    while "v2" in await w.tags("webns/app"):
        assert time.monotonic() < deadline, "the delete was not recorded"
        await asyncio.sleep(0.05)
    deletes = [e for e in w.events_of("webns/app") if isinstance(e, Repository.ManifestDeleted)]
    assert [(d.tags, d.actor, d.via) for d in deletes] == [(["v2"], "owner", "registry")]

    # Health: the registry is reachable and notifications are arriving.
    health = await w.client.get("/api/v1/health")
    assert health.status == 200, await health.text()
    body = await health.json()
    assert body["registry"]["reachable"] is True
    assert body["notifications"]["last_received_at"] is not None


async def test_deleting_a_tag_with_a_sibling_needs_confirmation_and_is_recorded_once(
        wired: Wired, tmp_path: Path) -> None:
    w = wired
    image = build_oci_image(tmp_path / "oci", "shared digest", tag="v1")
    await push(w, image, "webns/app", "v1", "owner")
    await push(w, image, "webns/app", "stable", "owner")
    tags = await w.wait_for_tags("webns/app", {"v1", "stable"}, timeout=2.0)
    assert tags["v1"]["digest"] == tags["stable"]["digest"]
    tag_id = tags["v1"]["id"]

    # A viewer may not delete; the owner must confirm that `stable` goes too.
    refused = await w.client.delete(f"/api/v1/tags/{tag_id}", headers=w.api("viewer"))
    assert refused.status == 403
    unconfirmed = await w.client.delete(f"/api/v1/tags/{tag_id}", headers=w.api("owner"))
    assert unconfirmed.status == 409
    assert "stable" in (await unconfirmed.json())["errors"][0]["message"]
    still = await asyncio.to_thread(w.skopeo.inspect, w.registry.host, "webns/app", "stable",
                                    creds=w.creds("owner"))
    assert still.ok, "the refused delete removed the sibling"
    assert set(await w.tags("webns/app")) == {"v1", "stable"}

    confirmed = await w.client.delete(f"/api/v1/tags/{tag_id}?confirm_siblings=true",
                                      headers=w.api("owner"))
    assert confirmed.status == 200, await confirmed.text()
    assert (await confirmed.json())["deleted"] == ["stable", "v1"]
    assert await w.tags("webns/app") == {}  # read-your-writes
    gone = await asyncio.to_thread(w.skopeo.inspect, w.registry.host, "webns/app", "v1",
                                   creds=w.creds("owner"))
    assert not gone.ok

    # The registry's echo of our delete arrives, and is not recorded a second time.
    deadline = time.monotonic() + 3
    while not any(e["action"] == "delete" for b in w.relay.forwarded
                  for e in json.loads(b)["events"]):
        assert time.monotonic() < deadline, "the registry did not echo the delete"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)
    deletes = [e for e in w.events_of("webns/app") if isinstance(e, Repository.ManifestDeleted)]
    assert [(d.tags, d.actor) for d in deletes] == [(["stable", "v1"], "owner")]
    # Whichever came first, our record or the echo (token subject = the deleting user), won.
    assert deletes[0].via in ("wharfinger", "registry")

    # The CLI says which tags would go and needs --yes.
    other = build_oci_image(tmp_path / "other", "another shared digest", tag="a")
    await push(w, other, "webns/tool", "a", "owner")
    await push(w, other, "webns/tool", "b", "owner")
    await w.wait_for_tags("webns/tool", {"a", "b"}, timeout=2.0)
    env = {"WHARFINGER_DATA_DIR": str(w.settings.data_dir),
           "WHARFINGER_MACHINE_FQDN_VALUE": w.settings.issuer}
    if w.settings.database_url:
        env["WHARFINGER_DATABASE_URL"] = str(w.settings.database_url)
    assert await asyncio.to_thread(cli_main, ["delete", "webns/tool:a"], env) == 1
    assert set(await w.tags("webns/tool")) == {"a", "b"}
    assert await asyncio.to_thread(cli_main, ["delete", "webns/tool:a", "--yes"], env) == 0
    w.services.follower.nudge()
    await w.services.follower.catch_up()
    assert await w.tags("webns/tool") == {}


async def test_pushes_while_the_webhook_is_unreachable_arrive_after_it_recovers(
        wired: Wired, tmp_path: Path) -> None:
    w = wired
    w.relay.on = False
    for n in range(3):
        image = build_oci_image(tmp_path / f"oci{n}", f"image {n}", tag=f"v{n}")
        await push(w, image, "webns/app", f"v{n}", "contributor")
    await asyncio.sleep(0.5)
    assert await w.tags("webns/app") == {}
    w.relay.on = True
    # The registry retries once a second after its failures (backoff 1s).
    tags = await w.wait_for_tags("webns/app", {"v0", "v1", "v2"}, timeout=15.0)
    assert set(tags) == {"v0", "v1", "v2"}
    pushed = [e.tag for e in w.events_of("webns/app") if isinstance(e, Repository.TagPushed)]
    assert sorted(pushed) == ["v0", "v1", "v2"]


async def test_a_push_with_notifications_off_is_found_by_reconcile_as_drift(
        silent: Wired, tmp_path: Path) -> None:
    w = silent
    image = build_oci_image(tmp_path / "oci", "unnoticed", tag="v1")
    await push(w, image, "webns/app", "v1", "owner")
    await push(w, image, "newns/tool", "v1", "admin")  # a namespace nobody created
    await asyncio.sleep(0.3)
    assert await w.tags("webns/app") == {}
    services = w.services

    async def sync(remove_missing: bool = True) -> Any:
        report = await reconcile_once(services.store, services.pool, services.signing_key,
                                      services.settings, remove_missing=remove_missing)
        services.follower.nudge()
        await services.follower.catch_up()
        return report

    report = await sync()
    assert report.error is None and report.changes == 2, report
    tags = await w.tags("webns/app")
    assert tags["v1"]["digest"] == image.manifest_digest
    found = [e for e in w.events_of("webns/app") if isinstance(e, Repository.TagDiscovered)]
    assert [(e.tag, e.actor, e.via) for e in found] == [("v1", "sync", "sync")]
    assert "v1" in await w.tags("newns/tool")
    # A second round observes nothing new.
    assert (await sync()).changes == 0

    # A tag deleted at the registry (no notification) is recorded as no longer present by a
    # full round, and left alone by an `update` round.
    second = build_oci_image(tmp_path / "second", "another image", tag="v2")
    await push(w, second, "webns/app", "v2", "owner")
    assert (await sync()).changes == 1
    deleted = await asyncio.to_thread(w.skopeo.delete, w.registry.host, "webns/app", "v2",
                                      creds=w.creds("owner"))
    assert deleted.ok, deleted.stderr
    assert (await sync(remove_missing=False)).changes == 0
    assert set(await w.tags("webns/app")) == {"v1", "v2"}
    assert (await sync()).changes == 1
    assert set(await w.tags("webns/app")) == {"v1"}
    gone = [e for e in w.events_of("webns/app") if isinstance(e, Repository.TagNoLongerPresent)]
    assert [(e.tag, e.actor) for e in gone] == [("v2", "sync")]

    # A registry that cannot be reached removes nothing.
    await asyncio.to_thread(w.registry.stop)
    report = await sync()
    assert report.error is not None and report.changes == 0
    assert "v1" in await w.tags("webns/app")


async def test_the_background_reconcile_finds_pushes_the_registry_did_not_notify(
        background: Wired, tmp_path: Path) -> None:
    w = background
    image = build_oci_image(tmp_path / "oci", "found in the background", tag="v1")
    await push(w, image, "webns/app", "v1", "owner")
    tags = await w.wait_for_tags("webns/app", {"v1"}, timeout=8.0)
    assert tags["v1"]["digest"] == image.manifest_digest
    found = [e for e in w.events_of("webns/app") if isinstance(e, Repository.TagDiscovered)]
    assert [(e.tag, e.actor) for e in found] == [("v1", "sync")]
