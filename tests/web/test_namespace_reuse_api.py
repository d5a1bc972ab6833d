"""Over HTTP (both backends): after a namespace is deleted and its name reused, a push into one
of its old repositories lists under the new namespace, as a new repository (new id, no old
description), and the activity feed tells its team (domain.repositories: Repository.Recreated)."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.web.test_activities_api import caught_up, sentences
from tests.web.test_registry_events import api, digest, event, post
from tests.web.world import World
from web.appkeys import SERVICES

Client = TestClient  # type: ignore[type-arg]


async def get(client: Client, world: World, path: str) -> Any:
    response = await client.get(f"/api/v1/{path}", headers=api(world))
    assert response.status == 200, await response.text()
    return await response.json()


async def test_a_reused_namespace_name_lists_a_pushed_repository_afresh(
        client: Client, world: World) -> None:
    services = client.app[SERVICES]
    store = services.store
    team_id = world.team_id
    assert team_id is not None
    # `shop` holds shop/app for a while, described, then emptied; `shop` is deleted.
    old = await services.execute(lambda: store.create_namespace(name="shop", team_id=team_id))
    assert (await post(client, {"events": [
        event("push", "shop/app", tag="v1", dig=digest(1))]})).status == 202
    await services.execute(lambda: store.describe_repository("shop/app", "the old shop"))
    first = services.catalog.by_full_name("shop/app")
    assert first is not None
    old_number = first.id
    assert (await post(client, {"events": [
        event("delete", "shop/app", dig=digest(1))]})).status == 202
    await services.execute(lambda: store.delete_namespace(old.id))
    # A new `shop`, and a push into shop/app.
    new = await services.execute(lambda: store.create_namespace(name="shop", team_id=team_id))
    assert (await post(client, {"events": [
        event("push", "shop/app", tag="v2", dig=digest(2))]})).status == 202
    new_number = services.directory.number_of(new.id)
    listed = await get(client, world, f"namespaces/{new_number}/repositories")
    assert [(r["full_name"], r["description"], r["namespace"]["id"]) for r in listed] == [
        ("shop/app", "", new_number)]
    assert listed[0]["id"] != old_number
    everywhere = await get(client, world, "repositories")
    assert [(r["full_name"], r["namespace"]["id"]) for r in everywhere] == [
        ("shop/app", new_number)]
    gone = await client.get(f"/api/v1/repositories/{old_number}", headers=api(world))
    assert gone.status == 404
    tags = await get(client, world, f"repositories/{listed[0]['id']}/tags")
    assert [t["name"] for t in tags] == ["v2"]
    # The feed tells the repository's creation in each namespace, the new one as the new
    # namespace's (its team sees it there).
    await caught_up(client)
    created = [(a["sentence"], a["namespace_id"]) for a in (await get(
        client, world, "activities?limit=10&type=repository.create"))["activities"]]
    assert created == [("owner created repository shop/app", str(new.id)),
                       ("owner created repository shop/app", str(old.id))]
    said = await sentences(client, world, "owner", "&type=repository.create")
    assert "owner created repository shop/app" in said
