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
from web import field_limits as limit
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


# -- the same limits ------------------------------------------------------------------------------

def text(length: int, start: str = "a") -> str:
    """A valid name of exactly `length` characters (lower case: a namespace name too)."""
    return start + "a" * (length - 1)


def email(length: int, start: str = "a") -> str:
    return text(length - len("@example.org"), start) + "@example.org"


@dataclass(frozen=True)
class Limit:
    """A field whose longest value the API and the console's form must agree on. `api` and
    `page` take the value; `start` tells their values apart where a name must be unique."""

    name: str
    user: str
    field: str
    limit: int
    api: Callable[[Client, Ids, dict[str, str], str], Awaitable[Any]]
    page: Callable[[Ids, str], tuple[str, dict[str, str]]]
    value: Callable[[int, str], str] = text
    accepted: bool = True
    """Also check that a value of exactly `limit` characters is taken by both."""


LIMITS = [
    Limit("a new team's description", "owner", "description", limit.DESCRIPTION,
          lambda c, i, h, v: c.post("/api/v1/teams", headers=h,
                                    json={"team": {"name": "from-api", "description": v}}),
          lambda i, v: ("/teams", {"name": "from-page", "description": v})),
    Limit("a new team's name", "owner", "name", limit.TEAM_NAME,
          lambda c, i, h, v: c.post("/api/v1/teams", headers=h, json={"team": {"name": v}}),
          lambda i, v: ("/teams", {"name": v.replace("a", "b", 1), "description": ""})),
    Limit("a team's description", "owner", "description", limit.DESCRIPTION,
          lambda c, i, h, v: c.put(f"/api/v1/teams/{i.team}", headers=h,
                                   json={"team": {"description": v}}),
          lambda i, v: ("/teams/web/settings", {"name": "web", "description": v})),
    Limit("a new namespace's name", "owner", "name", limit.NAMESPACE_NAME,
          lambda c, i, h, v: c.post("/api/v1/namespaces", headers=h,
                                    json={"namespace": {"name": v, "team": "web"}}),
          lambda i, v: ("/namespaces", {"name": v.replace("a", "b", 1), "team": "web",
                                        "description": ""})),
    Limit("a new namespace's description", "owner", "description", limit.DESCRIPTION,
          lambda c, i, h, v: c.post("/api/v1/namespaces", headers=h, json={
              "namespace": {"name": "fromapi", "team": "web", "description": v}}),
          lambda i, v: ("/namespaces", {"name": "frompage", "team": "web", "description": v})),
    Limit("a user's display name", "admin", "display_name", limit.DISPLAY_NAME,
          lambda c, i, h, v: c.put(f"/api/v1/users/{i.users['viewer']}", headers=h,
                                   json={"user": {"display_name": v}}),
          lambda i, v: ("/admin/users/viewer/edit",
                        {"email": "viewer@example.org", "display_name": v, "password": ""})),
    Limit("a user's email", "admin", "email", limit.EMAIL,
          lambda c, i, h, v: c.put(f"/api/v1/users/{i.users['viewer']}", headers=h,
                                   json={"user": {"email": v}}),
          lambda i, v: ("/admin/users/viewer/edit",
                        {"email": v.replace("a", "b", 1), "display_name": "", "password": ""}),
          value=email),
    Limit("an application token's name", "owner", "application", limit.APPLICATION,
          lambda c, i, h, v: c.post(f"/api/v1/users/{i.users['owner']}/application_tokens",
                                    headers=h, json={"application": v}),
          lambda i, v: ("/profile/tokens", {"application": v.replace("a", "b", 1)})),
    Limit("a new member's username", "owner", "user", limit.USERNAME,
          lambda c, i, h, v: c.post(f"/api/v1/teams/{i.team}/members", headers=h,
                                    json={"user": v, "role": "viewer"}),
          lambda i, v: ("/teams/web/members", {"username": v, "role": "viewer"}),
          accepted=False),  # no such user: only the refusal of a longer name is compared
    Limit("a repository's description", "owner", "description", limit.DESCRIPTION,
          lambda c, i, h, v: c.put(f"/api/v1/repositories/{i.repository}", headers=h,
                                   json={"repository": {"description": v}}),
          lambda i, v: (f"/repositories/{i.repository}/description", {"description": v})),
]


@pytest.mark.parametrize("case", LIMITS, ids=[c.name for c in LIMITS])
async def test_the_page_and_the_api_take_the_same_lengths(
        client: Client, world: World, case: Limit) -> None:
    assert (await post(client, {"events": [
        event("push", "webns/app", tag="v1", dig=digest(1))]})).status == 202
    known = await ids(client, world)
    await sign_in(client, case.user)
    token = csrf_of(await (await client.get("/teams")).text())
    headers = auth(world, case.user)

    async def through_page(value: str) -> tuple[int, str]:
        action, fields = case.page(known, value)
        page = await client.post(action, data={**fields, "_csrf": token},
                                 allow_redirects=False)
        return page.status, await page.text()

    # One character over the limit: both refuse, for the same reason, and nothing moves.
    too_long = case.value(case.limit + 1, "a")
    before = positions(client)
    answer = await case.api(client, known, headers, too_long)
    assert 400 <= answer.status < 500, await answer.text()
    body = await answer.json()
    why = reason(body)
    assert body["field"] == case.field and why.startswith(f"is too long (maximum is {case.limit} ")
    status, html = await through_page(too_long)
    assert 400 <= status < 500, (status, html[:300])
    assert str(markupsafe.escape(why)) in html, (why, html[:300])
    assert positions(client) == before
    if not case.accepted:
        return
    # Exactly at the limit: both take it (the console once refused team descriptions over 4096
    # characters where the API took 16384).
    answer = await case.api(client, known, headers, case.value(case.limit, "a"))
    assert answer.status < 300, await answer.text()
    status, html = await through_page(case.value(case.limit, "a"))
    assert status < 400 and 'aria-invalid="true"' not in html, (status, html[:500])
