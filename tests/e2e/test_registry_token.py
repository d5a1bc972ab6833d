"""End to end: the real Distribution 2.8 registry accepts Wharfinger's tokens, driven by skopeo."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from tests.e2e.conftest import Stack
from tests.e2e.skopeo import build_oci_image, write_identitytoken_authfile
from tests.web.world import PASSWORD, SERVICE


def creds(stack: Stack, who: str) -> tuple[str, str]:
    return who, stack.world.tokens[who]


async def test_push_pull_delete_and_catalog_with_the_real_registry(
        stack: Stack, tmp_path: Path) -> None:
    skopeo, host = stack.skopeo, stack.registry.host
    image = build_oci_image(tmp_path / "image", "hello from wharfinger", tag="v1")

    # A contributor pushes into the team's private namespace.
    pushed = await asyncio.to_thread(skopeo.push, image, host, "webns/app",
                                     creds=creds(stack, "contributor"))
    assert pushed.ok, pushed.stderr

    # A viewer pulls it, and is refused a push.
    pulled = await asyncio.to_thread(skopeo.pull, host, "webns/app", "v1", tmp_path / "pulled",
                                     creds=creds(stack, "viewer"))
    assert pulled.ok, pulled.stderr
    denied = await asyncio.to_thread(skopeo.push, image, host, "webns/app", "v2",
                                     creds=creds(stack, "viewer"))
    assert not denied.ok
    assert "denied" in denied.stderr or "unauthorized" in denied.stderr

    # Anonymous pulls from the public namespace, and is refused the private one.
    public = await asyncio.to_thread(skopeo.push, image, host, "pub/app",
                                     creds=creds(stack, "owner"))
    assert public.ok, public.stderr
    anonymous = await asyncio.to_thread(skopeo.inspect, host, "pub/app", "v1")
    assert anonymous.ok, anonymous.stderr
    assert anonymous.json()["Digest"] == image.manifest_digest
    hidden = await asyncio.to_thread(skopeo.inspect, host, "webns/app", "v1")
    assert not hidden.ok

    # An admin lists the catalog with a token for registry:catalog:*.
    response = await stack.client.get("/v2/token", params={
        "service": SERVICE, "scope": "registry:catalog:*"}, headers=stack.world.basic("admin"))
    token = (await response.json())["token"]
    async with aiohttp.ClientSession() as session, session.get(
            f"{stack.registry.url}/v2/_catalog",
            headers={"Authorization": f"Bearer {token}"}) as catalog:
        assert catalog.status == 200
        assert set((await catalog.json())["repositories"]) >= {"webns/app", "pub/app"}

    # The owner deletes the tag (delete.enabled is on by default; skopeo asks for '*' first).
    contributor_delete = await asyncio.to_thread(skopeo.delete, host, "webns/app", "v1",
                                                 creds=creds(stack, "contributor"))
    assert not contributor_delete.ok
    deleted = await asyncio.to_thread(skopeo.delete, host, "webns/app", "v1",
                                      creds=creds(stack, "owner"))
    assert deleted.ok, deleted.stderr
    gone = await asyncio.to_thread(skopeo.inspect, host, "webns/app", "v1",
                                   creds=creds(stack, "owner"))
    assert not gone.ok


async def test_docker_login_refresh_token_works_as_skopeo_identitytoken(
        stack: Stack, tmp_path: Path) -> None:
    skopeo, host = stack.skopeo, stack.registry.host
    image = build_oci_image(tmp_path / "image", "refresh me", tag="v1")
    assert (await asyncio.to_thread(skopeo.push, image, host, "webns/app",
                                    creds=creds(stack, "owner"))).ok

    # What `docker login` sends: no scope, offline_token=true, client_id=docker, the password.
    login = await stack.client.get("/v2/token", params={
        "account": "viewer", "client_id": "docker", "offline_token": "true",
        "service": SERVICE}, headers=stack.world.basic("viewer", PASSWORD))
    assert login.status == 200
    refresh_token = (await login.json())["refresh_token"]

    # Docker keeps it as identitytoken; skopeo then uses only POST grant_type=refresh_token.
    authfile = write_identitytoken_authfile(tmp_path / "auth.json", host, refresh_token)
    inspected = await asyncio.to_thread(skopeo.inspect, host, "webns/app", "v1",
                                        authfile=authfile)
    assert inspected.ok, inspected.stderr
    pulled = await asyncio.to_thread(skopeo.pull, host, "webns/app", "v1", tmp_path / "pulled",
                                     authfile=authfile)
    assert pulled.ok, pulled.stderr

    # The refresh token grants what the viewer may do, no more: no push.
    pushed = await asyncio.to_thread(skopeo.push, image, host, "webns/app", "v9",
                                     authfile=authfile)
    assert not pushed.ok
