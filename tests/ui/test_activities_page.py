"""The console's activities page over HTTP: what each user sees, the API's filters with errors
next to the field, cursor pages, export links and empty states, on both backends."""

from __future__ import annotations

import re
from html import unescape

from aiohttp.test_utils import TestClient

from tests.ui.test_console_http import sign_in
from tests.web.test_activities_api import caught_up
from tests.web.world import World
from web.appkeys import SERVICES

Client = TestClient  # type: ignore[type-arg]


def rows(html: str) -> list[str]:
    """The "What" column of the activities table, unescaped."""
    table = html.split('id="activity-table"', 1)
    if len(table) == 1:
        return []
    row = r"<tr>\s*<td><time[^>]*>[^<]*</time></td>\s*<td[^>]*>[^<]*</td>\s*<td>(.*?)</td>"
    return [unescape(m) for m in re.findall(row, table[1], re.S)]


async def test_admins_see_everything_others_their_share_with_the_apis_filters(
        client: Client, world: World) -> None:
    services = client.app[SERVICES]
    await services.execute(lambda: services.store.grant_auditor(world.user_ids["outsider"]),
                           actor="admin")
    await caught_up(client)
    await sign_in(client, "admin")
    everything = rows(await (await client.get("/activities")).text())
    assert "admin made outsider an auditor" in everything
    assert any("to team web as viewer" in s for s in everything)
    # The viewer sees the team's entries, not the admin's change to another account.
    await sign_in(client, "viewer")
    theirs = rows(await (await client.get("/activities")).text())
    assert any("to team web as viewer" in s for s in theirs)
    assert "admin made outsider an auditor" not in theirs
    # The auditor sees what the admin sees (their own sign-ins aside, the feed is the same).
    await sign_in(client, "outsider")
    page = await client.get("/activities", params={"team": "web"})
    html = await page.text()
    assert page.status == 200
    only_web = rows(html)
    assert only_web and all("web" in s for s in only_web)
    assert 'value="web"' in html
    # The export links carry the same filters to the API, which answers the same rows.
    csv_link = unescape(re.search(r'href="(/api/v1/activities\?[^"]*format=csv)"', html)[1])
    assert "team=web" in csv_link
    exported = await client.get(csv_link)
    assert exported.status == 200 and exported.content_type == "text/csv"
    assert len((await exported.text()).strip().splitlines()) == len(only_web) + 1


async def test_bad_filters_are_named_next_to_the_field_and_keep_what_was_typed(
        client: Client, world: World) -> None:
    await sign_in(client, "admin")
    unknown = await client.get("/activities", params={"team": "<nope>", "actor": ""})
    html = await unknown.text()
    assert unknown.status == 422
    assert 'id="e-team">Team unknown team &#39;&lt;nope&gt;&#39;' in html
    assert 'value="&lt;nope&gt;"' in html and "Fix the filter" in html
    late = await client.get("/activities", params={"since": "2030-01-01T00:00:00Z",
                                                   "until": "2020-01-01"})
    assert late.status == 422 and 'id="e-since">Since must be earlier than until' in (
        await late.text())
    badtime = await client.get("/activities", params={"until": "yesterday"})
    assert badtime.status == 422 and "is not an ISO 8601 time" in await badtime.text()
    # A forged cursor is not a field: the page says so and starts from the newest.
    forged = await client.get("/activities", params={"cursor": "!!"})
    assert forged.status == 200 and "That page link is not valid" in await forged.text()
    # Anonymous visitors are sent to sign in.
    await client.post("/sign_out", data={"_csrf": re.search(
        r'name="_csrf" value="([0-9a-f]+)"', await forged.text())[1]})  # type: ignore[index]
    anonymous = await client.get("/activities", allow_redirects=False)
    assert anonymous.status == 303 and anonymous.headers["Location"].startswith("/sign_in")


async def test_pages_follow_the_cursor_and_empty_results_say_so(
        client: Client, world: World) -> None:
    services = client.app[SERVICES]

    def many_teams() -> None:
        for n in range(55):
            services.store.create_team(name=f"t{n:02}", owner_id=world.user_ids["owner"])

    await services.execute(many_teams, actor="owner")
    await caught_up(client)
    await sign_in(client, "admin")
    first = await (await client.get("/activities", params={"actor": "owner"})).text()
    seen = rows(first)
    assert len(seen) == 50 and "← Newest" not in first
    older = unescape(re.search(r'href="([^"]*)" rel="next"', first)[1])  # type: ignore[index]
    assert "actor=owner" in older and "cursor=" in older
    second = await (await client.get(older)).text()
    rest = rows(second)
    assert rest and not set(rest) & set(seen) and "← Newest" in second
    # Following "Older" to the end visits every entry once.
    page = second
    while (link := re.search(r'href="([^"]*)" rel="next"', page)) is not None:
        page = await (await client.get(unescape(link[1]))).text()
        rest += rows(page)
    created = [s for s in seen + rest if "created team t" in s]
    assert len(created) == len(set(created)) == 55
    none = await client.get("/activities", params={"repository": "webns/nothing-here"})
    assert none.status == 200
    assert "No activities match these filters" in await none.text()
