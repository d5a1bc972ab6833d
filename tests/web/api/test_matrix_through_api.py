"""Portus's registry matrix (portus.md §3.1) on a world built only through the REST API: the
token endpoint must grant exactly what the default matrix says."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from tests.web.api.helpers import Api
from tests.web.test_token_matrix import DEFAULT_MATRIX, actions_for, token_access
from tests.web.world import PASSWORD, SERVICE, World
from web.app_tokens import hash_token, new_token
from web.appkeys import SERVICES


@pytest.fixture
async def api_world(client: TestClient) -> World:  # type: ignore[type-arg]
    # Step 1: the first admin through the bootstrap endpoint; its token signs everything else.
    world = World()
    response = await client.post("/api/v1/users/bootstrap", json={
        "username": "admin", "email": "admin@example.org", "password": PASSWORD})
    assert response.status == 201, await response.text()
    world.tokens["admin"] = (await response.json())["plain_token"]
    api = Api(client, world)
    # Step 2: the registry, then the users (their personal namespaces come with them).
    await api.ok("POST", "/api/v1/registries", json={"registry": {
        "name": "main", "hostname": SERVICE, "use_ssl": False}}, status=201)
    for name in ("owner", "contributor", "viewer", "outsider"):
        await api.ok("POST", "/api/v1/users", json={"user": {
            "username": name, "email": f"{name}@example.org", "password": PASSWORD}},
            status=201)
    # Each user mints an application token for themselves (the UI's job; here the command):
    # `docker login` with it skips the deliberately slow password hash.
    services = client.app[SERVICES]
    for name in ("owner", "contributor", "viewer", "outsider"):
        user = services.index.user_named(name)
        assert user is not None
        token = new_token()
        await services.execute(lambda u=user.id, t=token: services.store.create_application_token(
            u, "docker", hash_token(t)), actor=name)
        world.tokens[name] = token
    # Step 3: the team and its members, created by the admin for the owner.
    team = await api.ok("POST", "/api/v1/teams", json={"name": "web", "owner_id": 2},
                        status=201)
    for name, role in (("contributor", "contributor"), ("viewer", "viewer")):
        await api.ok("POST", f"/api/v1/teams/{team['id']}/members",
                     json={"user": name, "role": role}, status=201)
    # Step 4: namespaces, made protected and public through updates.
    for name, visibility in (("webns", "private"), ("prot", "protected"), ("pub", "public")):
        ns = await api.ok("POST", "/api/v1/namespaces", json={"name": name, "team": "web"},
                          status=201)
        if visibility != "private":
            await api.ok("PUT", f"/api/v1/namespaces/{ns['id']}",
                         json={"namespace": {"visibility": visibility}})
    return world


async def test_default_matrix_on_a_world_built_by_the_api(
        client: TestClient, api_world: World) -> None:  # type: ignore[type-arg]
    wrong = []
    for who, scope, granted in DEFAULT_MATRIX:
        got = actions_for(await token_access(client, api_world, who, scope), scope)
        if got != granted:
            wrong.append((who, scope, granted, got))
    assert not wrong
