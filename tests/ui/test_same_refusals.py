"""A page can never allow what the API forbids: for each action below, the same user on the same
data gets a 4xx from the API and a refusal from the console's form with the same reason, and
neither moves the event log (both backends)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import markupsafe
import pytest
from aiohttp.test_utils import TestClient

from domain.registries import GLOBAL_NAMESPACE_NAME
from tests.ui.test_console_http import csrf_of, sign_in
from tests.web.test_registry_events import digest, event, post
from tests.web.world import World
from web.appkeys import SERVICES

Client = TestClient  # type: ignore[type-arg]


@dataclass(frozen=True)
class Ids:
    """The API's numeric ids of the world's records, and the console's paths need names."""

    team: str
    users: dict[str, str]
    namespaces: dict[str, str]
    repository: str
    tag: str


async def ids(client: Client, world: World) -> Ids:
    async def get(path: str) -> Any:
        response = await client.get(path, headers=auth(world, "admin"))
        assert response.status == 200, await response.text()
        return await response.json()

    teams = {t["name"]: str(t["id"]) for t in await get("/api/v1/teams?all=true")}
    users = {u["username"]: str(u["id"]) for u in await get("/api/v1/users?all=true")}
    namespaces = {GLOBAL_NAMESPACE_NAME if n["global"] else n["name"]: str(n["id"])
                  for n in await get("/api/v1/namespaces?all=true")}
    [repo] = [r for r in await get("/api/v1/repositories?all=true")
              if r["full_name"] == "webns/app"]
    [tag] = await get(f"/api/v1/repositories/{repo['id']}/tags")
    return Ids(teams["web"], users, namespaces, str(repo["id"]), str(tag["id"]))


def auth(world: World, username: str) -> dict[str, str]:
    return {"Portus-Auth": f"{username}:{world.tokens[username]}"}


@dataclass(frozen=True)
class Case:
    name: str
    user: str
    api: Callable[[Client, Ids, dict[str, str]], Awaitable[Any]]
    page: Callable[[Ids], tuple[str, dict[str, str]]]
    """The console form's action and fields (the CSRF token is added)."""


CASES = [
    Case("a viewer deletes a tag", "viewer",
         lambda c, i, h: c.delete(f"/api/v1/tags/{i.tag}?confirm_siblings=true", headers=h),
         lambda i: (f"/repositories/{i.repository}/tags/{i.tag}/delete",
                    {"confirm_siblings": "on"})),
    Case("a contributor changes a member's role", "contributor",
         lambda c, i, h: c.put(f"/api/v1/teams/{i.team}/members/{i.users['viewer']}",
                               headers=h, json={"role": "owner"}),
         lambda i: ("/teams/web/members/viewer", {"role": "owner"})),
    Case("a non-admin makes someone an admin", "owner",
         lambda c, i, h: c.put(f"/api/v1/users/{i.users['viewer']}/toggle_admin", headers=h),
         lambda i: ("/admin/users/viewer/admin", {})),
    Case("an admin toggles their own admin flag", "admin",
         lambda c, i, h: c.put(f"/api/v1/users/{i.users['admin']}/toggle_admin", headers=h),
         lambda i: ("/admin/users/admin/admin", {})),
    Case("the global namespace made private", "admin",
         lambda c, i, h: c.put(f"/api/v1/namespaces/{i.namespaces[GLOBAL_NAMESPACE_NAME]}",
                               headers=h, json={"namespace": {"visibility": "private"}}),
         lambda i: (f"/namespaces/{GLOBAL_NAMESPACE_NAME}/visibility",
                    {"visibility": "private"})),
    Case("the last owner removes themselves", "owner",
         lambda c, i, h: c.delete(f"/api/v1/teams/{i.team}/members/{i.users['owner']}",
                                  headers=h),
         lambda i: ("/teams/web/members/owner", {"role": "remove"})),
    Case("a viewer adds a member", "viewer",
         lambda c, i, h: c.post(f"/api/v1/teams/{i.team}/members", headers=h,
                                json={"user": "outsider", "role": "owner"}),
         lambda i: ("/teams/web/members", {"username": "outsider", "role": "owner"})),
    Case("a viewer makes a namespace public", "viewer",
         lambda c, i, h: c.put(f"/api/v1/namespaces/{i.namespaces['webns']}", headers=h,
                               json={"namespace": {"visibility": "public"}}),
         lambda i: ("/namespaces/webns/visibility", {"visibility": "public"})),
    Case("an admin deletes a team's only owner", "admin",
         lambda c, i, h: c.delete(f"/api/v1/users/{i.users['owner']}", headers=h),
         lambda i: ("/admin/users/owner/delete", {"confirm": "owner"})),
    Case("an admin deletes a user whose namespace holds repositories", "admin",
         lambda c, i, h: c.delete(f"/api/v1/users/{i.users['contributor']}", headers=h),
         lambda i: ("/admin/users/contributor/delete", {"confirm": "contributor"})),
    Case("an admin deletes themselves", "admin",
         lambda c, i, h: c.delete(f"/api/v1/users/{i.users['admin']}", headers=h),
         lambda i: ("/admin/users/admin/delete", {"confirm": "admin"})),
    Case("a contributor describes a repository", "contributor",
         lambda c, i, h: c.put(f"/api/v1/repositories/{i.repository}", headers=h,
                               json={"repository": {"description": "mine"}}),
         lambda i: (f"/repositories/{i.repository}/description", {"description": "mine"})),
    Case("a non-admin disables someone else", "contributor",
         lambda c, i, h: c.put(f"/api/v1/users/{i.users['viewer']}/toggle_enabled", headers=h),
         lambda i: ("/admin/users/viewer/enabled", {})),
]


def reason(body: dict[str, Any]) -> str:
    """The API's refusal without its field name: what the console must say too."""
    message = body["message"]
    return message[body["field"]][0] if "field" in body else str(message)


def state(client: Client) -> tuple[Any, ...]:
    """What the read models say about the records these cases touch."""
    services = client.app[SERVICES]
    return (dict(services.index.users),
            {t.id: dict(t.members) for t in services.index.teams.values()},
            {n.id: n.visibility for n in services.index.namespaces.values()},
            {r.full_name: (r.description, sorted(r.tags))
             for r in services.catalog.listed()})


def positions(client: Client) -> tuple[int, int]:
    services = client.app[SERVICES]
    return (int(services.store.recorder.max_notification_id() or 0),
            int(services.audit.recorder.max_notification_id() or 0))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_the_page_and_the_api_refuse_the_same_action_for_the_same_reason(
        client: Client, world: World, case: Case) -> None:
    # Given webns/app:v1 in the registry, seen through the notifications.
    assert (await post(client, {"events": [
        event("push", "webns/app", tag="v1", dig=digest(1)),
        event("push", "contributor/tool", tag="v1", dig=digest(2), actor="contributor")]})
            ).status == 202
    known = await ids(client, world)
    await sign_in(client, case.user)
    token = csrf_of(await (await client.get("/teams")).text())
    index_before = state(client)
    before = positions(client)
    # When the API is asked...
    answer = await case.api(client, known, auth(world, case.user))
    assert 400 <= answer.status < 500, await answer.text()
    why = reason(await answer.json())
    # ...and the console's form is posted by the same user,
    action, fields = case.page(known)
    page = await client.post(action, data={**fields, "_csrf": token}, allow_redirects=False)
    html = await page.text()
    # then both refuse, for the same reason, with a 4xx...
    assert 400 <= page.status < 500, (page.status, html[:300])
    assert page.status == answer.status, (page.status, answer.status, why)
    assert str(markupsafe.escape(why)) in html, (why, html)
    # ...and nothing moved: no event on either log, the read model as it was.
    assert positions(client) == before
    assert state(client) == index_before
