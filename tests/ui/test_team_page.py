"""The team page over HTTP: a refused change to a member is said in that member's row (both
backends)."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from tests.ui.test_console_http import csrf_of, sign_in
from tests.web.world import World
from web.appkeys import SERVICES

Client = TestClient  # type: ignore[type-arg]


async def test_removing_the_last_owner_is_refused_in_the_owners_row(
        client: Client, world: World) -> None:
    services = client.app[SERVICES]
    await sign_in(client, "owner")
    page = await (await client.get("/teams/web")).text()
    refused = await client.post("/teams/web/members/owner", data={
        "role": "remove", "_csrf": csrf_of(page)})
    html = await refused.text()
    assert refused.status == 422
    row = re.search(r"<tr><td>owner</td>(.*?)</tr>", html, re.S)
    assert row is not None and 'id="e-member"' in row[1]
    assert html.count('id="e-member"') == 1
    assert world.user_ids["owner"] in services.index.teams[world.team_id].members  # type: ignore[index]
    # An unknown role is named in the same row.
    bad = await client.post("/teams/web/members/viewer", data={
        "role": "emperor", "_csrf": csrf_of(page)})
    body = await bad.text()
    assert bad.status == 422
    row = re.search(r"<tr><td>viewer</td>(.*?)</tr>", body, re.S)
    assert row is not None and "Role is not a role" in row[1]


async def test_renaming_to_a_taken_name_is_said_under_the_name_keeping_the_input(
        client: Client, world: World) -> None:
    services = client.app[SERVICES]
    await services.execute(lambda: services.store.create_team(
        name="taken", owner_id=world.user_ids["outsider"]), actor="outsider")
    await sign_in(client, "owner")
    page = await (await client.get("/teams/web")).text()
    refused = await client.post("/teams/web/settings", data={
        "name": "taken", "description": "<em>kept</em>", "_csrf": csrf_of(page)})
    html = await refused.text()
    assert 400 <= refused.status < 500
    assert 'id="e-name">' in html and 'id="t-name" name="name" value="taken"' in html
    assert "&lt;em&gt;kept&lt;/em&gt;</textarea>" in html
    assert services.index.teams[world.team_id].name == "web"  # type: ignore[index]
