"""The audit page's questions over HTTP: who gained or lost access to a namespace between two
times, with the events that caused it (both backends)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

from aiohttp.test_utils import TestClient

from domain.values import Role
from tests.ui.test_console_http import sign_in
from tests.web.world import World
from web.appkeys import SERVICES

Client = TestClient  # type: ignore[type-arg]


async def test_who_gained_access_to_a_namespace_between_two_times(
        client: Client, world: World) -> None:
    services = client.app[SERVICES]
    before = datetime.now(UTC).isoformat()
    await services.execute(lambda: services.store.add_member(
        world.team_id, world.user_ids["outsider"], Role.VIEWER), actor="owner")
    await sign_in(client, "admin")
    page = await client.get("/audit", params={"question": "access_diff", "namespace": "webns",
                                              "from": before, "to": ""})
    html = await page.text()
    assert page.status == 200
    rows = [unescape(r) for r in re.findall(r"<tr><td>(.*?)</tr>", html, re.S)]
    gained = [r for r in rows if r.startswith("outsider</td><td>pull")]
    assert gained and "granted" in gained[0] and "by owner" in gained[0]
    assert not any(r.startswith("viewer</td>") for r in rows)  # nothing changed for her
    # The same question from after the change: no change, said plainly.
    later = await (await client.get("/audit", params={
        "question": "access_diff", "namespace": "webns",
        "from": datetime.now(UTC).isoformat()})).text()
    assert 'id="answer-none">No change in that time range.' in later
    # A bad time is named under its field in this question's form, keeping the input.
    bad = await client.get("/audit", params={"question": "access_diff", "namespace": "webns",
                                             "from": "last tuesday"})
    body = await bad.text()
    assert bad.status == 422
    assert 'id="e-access_diff-from">From &#39;last tuesday&#39; is not a time' in body
    assert 'id="access_diff-from" name="from" type="text" value="last tuesday"' in body


async def test_the_global_namespace_is_asked_for_by_the_registrys_host(
        client: Client, world: World) -> None:
    await sign_in(client, "admin")
    page = await client.get("/audit", params={"question": "access",
                                              "namespace": "registry.test:5000", "at": ""})
    html = await page.text()
    assert page.status == 200, html[:300]
    assert 'registry.test:5000 <span class="muted">(global)</span> (public' in html
    feed = await client.get("/activities", params={"namespace": "registry.test:5000"})
    assert feed.status == 200 and 'id="e-namespace"' not in await feed.text()
    unknown = await client.get("/activities", params={"namespace": "elsewhere.test"})
    assert unknown.status == 422 and 'id="e-namespace"' in await unknown.text()
