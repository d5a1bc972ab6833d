"""Two conflicting commands at once: one wins, the other gets 409 or 422, nothing half-applied."""

from __future__ import annotations

import asyncio

from tests.web.api.helpers import Api
from web.appkeys import SERVICES


async def statuses(*calls: object) -> list[int]:
    responses = await asyncio.gather(*calls)  # type: ignore[call-overload]
    return sorted(r.status for r in responses)


async def test_same_new_namespace_name(api: Api) -> None:
    body = {"name": "race", "team": "web"}
    for _ in range(3):
        got = await statuses(*(api.call("POST", "/api/v1/namespaces", who=who, json=body)
                               for who in ("owner", "contributor")))
        assert got[0] in (201, 409) and got[1] == 409 and got.count(201) <= 1
        body = {"name": body["name"] + "x", "team": "web"}
    index = api.client.app[SERVICES].index
    assert [n for n in index.namespaces.values() if n.name.startswith("race")]
    assert len({n.name for n in index.namespaces.values()}) == len(index.namespaces)


async def test_same_team_name_and_same_user(api: Api) -> None:
    got = await statuses(*(api.call("POST", "/api/v1/teams", who=who, json={"name": "twin"})
                           for who in ("owner", "viewer", "outsider")))
    assert got == [201, 409, 409]
    got = await statuses(*(api.call("POST", "/api/v1/users", json={"user": {
        "username": "dup", "email": f"dup{i}@example.org", "password": "a long password"}})
        for i in range(2)))
    assert got == [201, 409]


async def test_same_member_twice(api: Api) -> None:
    assert api.world.team_id is not None
    team = api.id_of(api.world.team_id)
    got = await statuses(*(api.call("POST", f"/api/v1/teams/{team}/members", who="owner",
                                    json={"user": "outsider", "role": role})
                           for role in ("viewer", "contributor")))
    assert got == [201, 409]
    members = await api.ok("GET", f"/api/v1/teams/{team}/members", who="owner")
    assert sum(1 for m in members if m["user_id"] == 5) == 1


async def test_demoting_the_last_owner_from_two_sides(api: Api) -> None:
    """Owners A and B demote each other at once: one succeeds, the team keeps an owner."""
    assert api.world.team_id is not None
    team = api.id_of(api.world.team_id)
    await api.ok("PUT", f"/api/v1/teams/{team}/members/3", who="owner", json={"role": "owner"})
    for _ in range(2):
        got = await statuses(
            api.call("PUT", f"/api/v1/teams/{team}/members/3", who="owner",
                     json={"role": "viewer"}),
            api.call("PUT", f"/api/v1/teams/{team}/members/2", who="contributor",
                     json={"role": "viewer"}))
        # The loser either was demoted first (403: no longer an owner) or hit the guard (422).
        assert got[0] == 200 and got[1] in (403, 422), got
        members = await api.ok("GET", f"/api/v1/teams/{team}/members", who="admin")
        owners = [m["user_id"] for m in members if m["role"] == "owner"]
        assert len(owners) == 1
        # Restore two owners for the next round.
        other = 3 if owners == [2] else 2
        await api.ok("PUT", f"/api/v1/teams/{team}/members/{other}", json={"role": "owner"})


async def test_two_admins_disabling_each_other(api: Api) -> None:
    """F7: never the last enabled admin, even when two admins disable each other at once."""
    await api.ok("PUT", "/api/v1/users/5/toggle_admin")
    got = await statuses(api.call("PUT", "/api/v1/users/5/toggle_enabled", who="admin"),
                         api.call("PUT", "/api/v1/users/1/toggle_enabled", who="outsider"))
    # The loser hit the guard (422), or was already disabled when it authenticated (401).
    assert got[0] == 200 and got[1] in (401, 422), got
    index = api.client.app[SERVICES].index
    assert sum(1 for u in index.users.values() if u.admin and u.enabled) == 1
