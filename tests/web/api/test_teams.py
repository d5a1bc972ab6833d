"""`/api/v1/teams`: teams, members and deletion with migration (portus.md §1.4, F21, §7.13)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import AppStarter
from tests.web.api.helpers import Api
from tests.web.world import World, build_world
from web.appkeys import SERVICES

TEAM_KEYS = {"id", "name", "created_at", "updated_at", "description", "hidden"}


async def web_team(api: Api) -> dict[str, Any]:
    teams: list[dict[str, Any]] = await api.ok("GET", "/api/v1/teams", who="owner")
    assert [t["name"] for t in teams] == ["web"]
    return teams[0]


async def test_listing_and_viewing_teams(api: Api) -> None:
    team = await web_team(api)
    assert set(team) >= TEAM_KEYS and team["role"] == "owner" and not team["hidden"]
    assert await api.ok("GET", "/api/v1/teams", who="outsider") == []
    # Admins see every regular team, never the hidden ones.
    assert [t["name"] for t in await api.ok("GET", "/api/v1/teams")] == ["web"]
    await api.ok("GET", f"/api/v1/teams/{team['id']}", who="viewer")
    assert (await api.call("GET", f"/api/v1/teams/{team['id']}", who="outsider")).status == 403
    # Hidden teams (admins team id 1, personal teams) are not found, even for admins.
    assert (await api.call("GET", "/api/v1/teams/1")).status == 404
    members = await api.ok("GET", f"/api/v1/teams/{team['id']}/members", who="viewer")
    assert {m["role"] for m in members} == {"owner", "contributor", "viewer"}
    assert sum(m["current"] for m in members) == 1
    namespaces = await api.ok("GET", f"/api/v1/teams/{team['id']}/namespaces", who="viewer")
    assert sorted(n["name"] for n in namespaces) == ["prot", "pub", "webns"]


async def test_create_update_and_rename_teams(api: Api) -> None:
    created = await api.ok("POST", "/api/v1/teams", who="viewer",
                           json={"name": "qa", "description": "testers"}, status=201)
    assert created["role"] == "owner" and created["description"] == "testers"
    taken = await api.call("POST", "/api/v1/teams", who="outsider", json={"name": "qa"})
    assert taken.status == 409
    # owner_id is for admins only.
    other = await api.call("POST", "/api/v1/teams", who="viewer",
                           json={"name": "qa2", "owner_id": 5})
    assert other.status == 403
    by_admin = await api.ok("POST", "/api/v1/teams", json={"name": "qa3", "owner_id": 5},
                            status=201)
    members = await api.ok("GET", f"/api/v1/teams/{by_admin['id']}/members", who="outsider")
    assert [(m["user_id"], m["role"]) for m in members] == [(5, "owner")]
    renamed = await api.ok("PUT", f"/api/v1/teams/{created['id']}", who="viewer",
                           json={"team": {"name": "quality"}})
    assert renamed["name"] == "quality"
    # The old name is free again.
    await api.ok("POST", "/api/v1/teams", who="outsider", json={"name": "qa"}, status=201)
    # Contributors do not edit a team.
    team = await web_team(api)
    assert (await api.call("PUT", f"/api/v1/teams/{team['id']}", who="contributor",
                           json={"team": {"description": "x"}})).status == 403


async def test_members_roles_and_the_last_owner(api: Api) -> None:
    team = (await web_team(api))["id"]
    members = f"/api/v1/teams/{team}/members"
    # Only owners (and admins) manage members.
    assert (await api.call("POST", members, who="contributor",
                           json={"user": "outsider", "role": "viewer"})).status == 403
    added = await api.ok("POST", members, who="owner",
                         json={"user": "outsider", "role": "viewer"}, status=201)
    assert added["role"] == "viewer" and added["user_id"] == 5
    duplicate = await api.call("POST", members, who="owner",
                               json={"user": "outsider", "role": "viewer"})
    assert duplicate.status == 409
    unknown = await api.call("POST", members, who="owner", json={"user": "nobody",
                                                                  "role": "viewer"})
    assert unknown.status == 404
    bad_role = await api.call("POST", members, who="owner", json={"user": "admin",
                                                                   "role": "boss"})
    assert bad_role.status == 400
    assert "role" in (await bad_role.json())["message"]
    # Admins join as owners, whatever role was asked, and cannot be demoted.
    admin = await api.ok("POST", members, who="owner", json={"user": "admin", "role": "viewer"},
                         status=201)
    assert admin["role"] == "owner"
    demote = await api.call("PUT", f"{members}/1", who="owner", json={"role": "viewer"})
    assert demote.status == 422
    assert "Portus admin" in str(await demote.json())
    await api.ok("DELETE", f"{members}/1", who="owner", status=204)
    # The only owner is neither demoted nor removed.
    owner = 2
    last = await api.call("PUT", f"{members}/{owner}", who="owner", json={"role": "viewer"})
    assert last.status == 422
    assert (await api.call("DELETE", f"{members}/{owner}", who="owner")).status == 422
    await api.ok("PUT", f"{members}/5", who="owner", json={"role": "owner"})
    await api.ok("PUT", f"{members}/{owner}", who="outsider", json={"role": "viewer"})


@pytest.mark.parametrize("contributors_delete", ["false", "true"])
async def test_team_deletion_with_and_without_migration(
        start_app: AppStarter, contributors_delete: str) -> None:
    """Portus §7.13: with `delete.contributors` on, team deletion crashed for everyone."""
    client = await start_app(WHARFINGER_DELETE_CONTRIBUTORS=contributors_delete)
    world: World = await build_world(client)
    api = Api(client, world)
    team = (await web_team(api))["id"]
    other = await api.ok("POST", "/api/v1/teams", who="owner", json={"name": "other"},
                         status=201)
    # A contributor cannot delete the team; the owner can, migrating its namespaces.
    assert (await api.call("DELETE", f"/api/v1/teams/{team}", who="contributor")).status == 403
    missing = await api.call("DELETE", f"/api/v1/teams/{team}?new_team=nowhere", who="owner")
    assert missing.status == 404
    await api.ok("DELETE", f"/api/v1/teams/{team}?new_team=other", who="owner", status=204)
    moved = await api.ok("GET", f"/api/v1/teams/{other['id']}/namespaces", who="owner")
    assert sorted(n["name"] for n in moved) == ["prot", "pub", "webns"]
    assert (await api.call("GET", f"/api/v1/teams/{team}", who="owner")).status == 404
    # Without migration the namespaces go with the team and their names are free.
    await api.ok("DELETE", f"/api/v1/teams/{other['id']}", who="owner", status=204)
    index = client.app[SERVICES].index
    assert index.namespace_named("webns") is None
    again = await api.ok("POST", "/api/v1/teams", who="owner", json={"name": "web"}, status=201)
    ns = await api.ok("POST", "/api/v1/namespaces", who="owner",
                      json={"name": "webns", "team": "web"}, status=201)
    assert ns["team"]["id"] == again["id"]
