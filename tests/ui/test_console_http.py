"""The console over HTTP (no browser): sessions, CSRF, escaping, error pages, on both backends."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from tests.web.world import PASSWORD, World
from web.appkeys import SERVICES

Client = TestClient  # type: ignore[type-arg]


def csrf_of(html: str) -> str:
    found = re.search(r'name="_csrf" value="([0-9a-f]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


async def sign_in(client: Client, username: str, password: str = PASSWORD) -> None:
    page = await (await client.get("/sign_in")).text()
    response = await client.post("/sign_in", data={
        "username": username, "password": password, "_csrf": csrf_of(page), "next": "/"},
        allow_redirects=False)
    assert response.status == 303, await response.text()


async def test_first_sign_up_makes_the_admin_and_signs_in(client: Client) -> None:
    # The start page sends the first visitor to sign up.
    first = await client.get("/", allow_redirects=False)
    assert first.status == 303 and first.headers["Location"] == "/sign_up"
    page = await (await client.get("/sign_up")).text()
    assert "Create the administrator" in page
    # A bad form keeps what was typed and names the field.
    bad = await client.post("/sign_up", data={
        "username": "root", "email": "not-an-email", "password": "short",
        "password_confirmation": "short", "_csrf": csrf_of(page)})
    body = await bad.text()
    assert bad.status == 422
    assert 'value="root"' in body and "Password is too short" in body
    ok = await client.post("/sign_up", data={
        "username": "root", "email": "root@example.org", "password": PASSWORD,
        "password_confirmation": PASSWORD, "_csrf": csrf_of(body)}, allow_redirects=False)
    assert ok.status == 303 and ok.headers["Location"] == "/admin/registry"
    cookie = ok.cookies["wharfinger_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert client.app[SERVICES].index.user_named("root").admin  # type: ignore[union-attr]
    # The second sign-up is an ordinary user, whatever the form says.
    await client.post("/sign_out", data={"_csrf": csrf_of(
        await (await client.get("/admin/registry")).text())})
    page = await (await client.get("/sign_up")).text()
    assert "Create the administrator" not in page
    await client.post("/sign_up", data={
        "username": "second", "email": "second@example.org", "password": PASSWORD,
        "password_confirmation": PASSWORD, "admin": "true", "_csrf": csrf_of(page)})
    assert not client.app[SERVICES].index.user_named("second").admin  # type: ignore[union-attr]


async def test_a_form_without_its_token_is_refused_and_changes_nothing(
        client: Client, world: World) -> None:
    await sign_in(client, "owner")
    for data in ({"name": "sneaky", "description": ""},
                 {"name": "sneaky", "description": "", "_csrf": "0" * 64}):
        refused = await client.post("/teams", data=data)
        assert refused.status == 403
        assert "security token" in await refused.text()
    assert not any(t.name == "sneaky" for t in client.app[SERVICES].index.teams.values())


async def test_sign_in_starts_a_new_session_and_sign_out_ends_it(
        client: Client, world: World) -> None:
    await sign_in(client, "owner")
    first = client.session.cookie_jar.filter_cookies(client.make_url("/"))["wharfinger_session"]
    await sign_in(client, "owner")  # signing in again never reuses a session id
    second = client.session.cookie_jar.filter_cookies(client.make_url("/"))["wharfinger_session"]
    assert first.value.split(".")[0] != second.value.split(".")[0]
    page = await (await client.get("/")).text()
    await client.post("/sign_out", data={"_csrf": csrf_of(page)})
    # The old cookie no longer opens anything, even replayed by hand.
    client.session.cookie_jar.update_cookies({"wharfinger_session": second.value})
    replay = await client.get("/teams", allow_redirects=False)
    assert replay.status == 303 and replay.headers["Location"].startswith("/sign_in")


async def test_disabling_a_user_ends_their_session(client: Client, world: World) -> None:
    await sign_in(client, "viewer")
    assert (await client.get("/teams", allow_redirects=False)).status == 200
    services = client.app[SERVICES]
    await services.execute(lambda: services.store.disable_user(world.user_ids["viewer"]))
    after = await client.get("/teams", allow_redirects=False)
    assert after.status == 303 and after.headers["Location"].startswith("/sign_in")
    # Nor can the disabled user sign in again.
    page = await (await client.get("/sign_in")).text()
    refused = await client.post("/sign_in", data={
        "username": "viewer", "password": PASSWORD, "_csrf": csrf_of(page)})
    assert refused.status == 401 and "disabled" in await refused.text()


async def test_user_text_is_escaped_and_unknown_pages_are_404_pages(
        client: Client, world: World) -> None:
    await sign_in(client, "owner")
    page = await (await client.get("/namespaces")).text()
    created = await client.post("/namespaces", data={
        "name": "escaped", "team": "web", "_csrf": csrf_of(page),
        "description": '<script>alert("x")</script>'})
    html = await created.text()
    assert created.status == 200, html
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    missing = await client.get("/no/such/page", headers={"Accept": "text/html"})
    assert missing.status == 404 and "text/html" in missing.headers["Content-Type"]
    assert "There is no such page" in await missing.text()
    # A private namespace of another team is a 404 too: its existence is not disclosed.
    await sign_in(client, "outsider")
    assert (await client.get("/namespaces/webns")).status == 404


async def test_viewers_are_not_offered_and_not_allowed_team_management(
        client: Client, world: World) -> None:
    await sign_in(client, "viewer")
    page = await (await client.get("/teams/web")).text()
    assert "Add a member" not in page
    refused = await client.post("/teams/web/members", data={
        "username": "outsider", "role": "owner", "_csrf": csrf_of(page)})
    assert refused.status == 403
    team = client.app[SERVICES].index.teams[world.team_id]  # type: ignore[index]
    assert world.user_ids["outsider"] not in team.members
    # The admin page is forbidden, with an HTML 403 page.
    admin = await client.get("/admin/users")
    assert admin.status == 403 and "administrators" in await admin.text()


async def test_the_session_cookie_works_on_the_api_with_the_csrf_header_for_changes(
        client: Client, world: World) -> None:
    await sign_in(client, "owner")
    mine = await client.get("/api/v1/teams")
    assert mine.status == 200
    assert any(t["name"] == "web" for t in await mine.json())
    # A change needs the page's CSRF token as a header; without it nothing is created.
    refused = await client.post("/api/v1/teams", json={"name": "cookie-only"})
    assert refused.status == 403
    assert not any(t.name == "cookie-only" for t in client.app[SERVICES].index.teams.values())
    token = csrf_of(await (await client.get("/teams")).text())
    created = await client.post("/api/v1/teams", json={"name": "with-header"},
                                headers={"X-CSRF-Token": token})
    assert created.status == 201, await created.text()


async def test_the_audit_page_is_for_admins_and_auditors_only(
        client: Client, world: World) -> None:
    await sign_in(client, "owner")
    assert (await client.get("/audit")).status == 403
    services = client.app[SERVICES]
    await services.execute(lambda: services.store.grant_auditor(world.user_ids["owner"]))
    page = await client.get("/audit", params={"question": "permissions",
                                              "username": "contributor", "at": ""})
    html = await page.text()
    assert page.status == 200
    assert "webns" in html
    # The global namespace reads as the registry's host, as on every other page.
    assert 'registry.test:5000 <span class="muted">(global)</span>' in html
    assert "portus_global_namespace_1" not in html
    bad = await client.get("/audit", params={"question": "permissions", "username": "x",
                                             "at": "yesterday-ish"})
    body = await bad.text()
    assert bad.status == 422
    # The error sits next to the field that was wrong, which keeps what was typed.
    assert 'id="e-permissions-at">As of &#39;yesterday-ish&#39; is not a time' in body
    assert 'id="permissions-at" name="at" type="text" value="yesterday-ish"' in body


async def test_owners_edit_and_delete_their_team_and_users_edit_their_profile(
        client: Client, world: World) -> None:
    await sign_in(client, "owner")
    page = await (await client.get("/teams/web")).text()
    assert "Team settings" in page and "Delete the team" in page
    renamed = await client.post("/teams/web/settings", data={
        "name": "frontend", "description": "<b>UI</b> people", "_csrf": csrf_of(page)})
    html = await renamed.text()
    assert renamed.status == 200 and "Team frontend" in html
    assert "&lt;b&gt;UI&lt;/b&gt; people" in html
    # A wrong confirmation deletes nothing and says why next to the field.
    wrong = await client.post("/teams/frontend/delete", data={
        "confirm": "web", "new_team": "", "_csrf": csrf_of(html)})
    assert wrong.status == 422 and "must be the team&#39;s name" in await wrong.text()
    assert client.app[SERVICES].index.namespace_named("webns") is not None
    # The profile keeps what was typed when the email is invalid.
    profile = await (await client.get("/profile")).text()
    bad = await client.post("/profile", data={
        "email": "nope", "display_name": "Olive", "_csrf": csrf_of(profile)})
    body = await bad.text()
    assert bad.status >= 400 and 'value="Olive"' in body and "Email is invalid" in body
    # A viewer is not offered the team's settings and cannot post them.
    await sign_in(client, "viewer")
    page = await (await client.get("/teams/frontend")).text()
    assert "Team settings" not in page and "Delete the team" not in page
    refused = await client.post("/teams/frontend/delete", data={
        "confirm": "frontend", "new_team": "", "_csrf": csrf_of(page)})
    assert refused.status == 403
