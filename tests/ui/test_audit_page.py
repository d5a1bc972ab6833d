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


async def test_access_is_asked_for_a_repository_as_the_api_answers_it(
        client: Client, world: World) -> None:
    await sign_in(client, "admin")

    async def who_could(params: dict[str, str]) -> tuple[int, str, list[str]]:
        page = await client.get("/audit", params=params)
        html = await page.text()
        rows = [unescape(r) for r in re.findall(r"<tr><td>(.*?)</tr>", html, re.S)]
        return page.status, html, rows

    # A repository is answered with its namespace's rules, and says which repository it is.
    status, html, by_repository = await who_could(
        {"question": "access", "repository": "webns/app", "at": ""})
    assert status == 200, html[:300]
    summary = re.search(r'id="answer-summary">(.*?)</p>', html, re.S)
    assert summary is not None
    assert unescape(summary[1]) == "Repository webns/app in namespace webns (private, team web)"
    _, _, by_namespace = await who_could({"question": "access", "namespace": "webns", "at": ""})
    assert by_repository == by_namespace and any("owner" in r for r in by_repository)
    # The same answer as the API's.
    api = await client.get("/api/v1/audit/access", params={"repository": "webns/app"})
    answer = await api.json()
    assert answer["repository"] == "webns/app" and answer["namespace"] == "webns"
    assert [e["who"] for e in answer["access"]["push"]] == [
        who for who in ("admin", "contributor", "owner")
        if any(r.startswith("push") and who in r for r in by_repository)]
    # What changed on a repository: the outsider joins web and can pull webns/app.
    before = datetime.now(UTC).isoformat()
    services = client.app[SERVICES]
    await services.execute(lambda: services.store.add_member(
        world.team_id, world.user_ids["outsider"], Role.VIEWER), actor="owner")
    _, html, rows = await who_could({"question": "access_diff", "repository": "webns/app",
                                     "from": before})
    assert "Who could act on repository webns/app from" in unescape(html)
    assert any(r.startswith("outsider</td><td>pull") and "by owner" in r for r in rows)
    # Neither or both: refused under the namespace field, the input kept.
    for params in ({"namespace": "", "repository": ""},
                   {"namespace": "webns", "repository": "webns/app"}):
        status, html, _ = await who_could({"question": "access", **params})
        assert status == 422
        assert ('id="e-access-namespace">Give either a namespace or a repository (exactly one).'
                in html)
    assert 'id="access-repository" name="repository" type="text" value="webns/app"' in html
    # A repository in no namespace is named under the repository field.
    status, html, _ = await who_could({"question": "access", "repository": "nowhere/app"})
    assert status == 422
    assert "namespace &#39;nowhere&#39; did not exist at that time" in html
    assert 'id="e-access-repository"' in html


async def test_a_hostile_repository_name_is_shown_as_text(client: Client, world: World) -> None:
    await sign_in(client, "admin")
    hostile = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    for asked in (f"webns/{hostile}", hostile):
        page = await client.get("/audit", params={"question": "access", "repository": asked})
        html = await page.text()
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
