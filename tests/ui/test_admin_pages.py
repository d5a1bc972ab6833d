"""The admin pages over HTTP: deleting a user (with its confirmation step), editing and unlocking
a user, editing the registry, refused where the API refuses, on both backends."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from tests.ui.test_console_http import csrf_of, sign_in
from tests.web.test_registry_events import digest, event, post
from tests.web.world import World
from web.appkeys import SERVICES

Client = TestClient  # type: ignore[type-arg]


async def test_deleting_a_user_asks_first_and_says_what_goes(
        client: Client, world: World) -> None:
    services = client.app[SERVICES]
    await sign_in(client, "admin")
    users = await (await client.get("/admin/users")).text()
    assert 'href="/admin/users/viewer/delete"' in users
    assert 'href="/admin/users/admin/delete"' not in users  # not offered for oneself
    # Step 1: the confirmation page names the teams and the personal namespace that go.
    confirm = await client.get("/admin/users/viewer/delete")
    page = await confirm.text()
    assert confirm.status == 200
    assert 'href="/teams/web"' in page and "personal namespace <strong>viewer</strong>" in page
    assert services.index.user_named("viewer") is not None  # asking deleted nothing
    # A wrong confirmation deletes nothing and says so next to the field.
    wrong = await client.post("/admin/users/viewer/delete", data={
        "confirm": "viewr", "_csrf": csrf_of(page)})
    assert wrong.status == 422 and "must be the user&#39;s name" in await wrong.text()
    assert services.index.user_named("viewer") is not None
    # Step 2: confirmed, the account, its personal namespace and its membership go.
    done = await client.post("/admin/users/viewer/delete", data={
        "confirm": "viewer", "_csrf": csrf_of(page)})
    html = await done.text()
    assert done.status == 200 and "User <strong>viewer</strong> was deleted." in html
    assert services.index.user_named("viewer") is None
    assert services.index.namespace_named("viewer") is None
    assert world.user_ids["viewer"] not in services.index.teams[world.team_id].members  # type: ignore[index]
    assert (await client.get("/admin/users/viewer/delete")).status == 404


async def test_deleting_a_teams_only_owner_or_oneself_is_refused_and_changes_nothing(
        client: Client, world: World) -> None:
    services = client.app[SERVICES]
    await sign_in(client, "admin")
    page = await (await client.get("/admin/users/owner/delete")).text()
    # Not offered: the page says what stands in the way instead of showing the form...
    assert 'id="delete-blocked"' in page and "only owner of team" in page
    assert 'action="/admin/users/owner/delete"' not in page
    before = services.store.recorder.max_notification_id()
    refused = await client.post("/admin/users/owner/delete", data={
        "confirm": "owner", "_csrf": csrf_of(page)})
    assert refused.status == 422
    assert "only owner of team &#39;web&#39;" in await refused.text()
    assert services.index.user_named("owner") is not None
    assert services.store.recorder.max_notification_id() == before  # ...and still enforced
    # A personal namespace holding repositories: named on the page, refused if posted.
    assert (await post(client, {"events": [
        event("push", "viewer/tool", tag="v1", dig=digest(7), actor="viewer")]})).status == 202
    page = await (await client.get("/admin/users/viewer/delete")).text()
    assert 'id="delete-blocked"' in page and "viewer/tool" in page
    refused = await client.post("/admin/users/viewer/delete", data={
        "confirm": "viewer", "_csrf": csrf_of(page)})
    assert refused.status == 422 and "Still holds repositories (viewer/tool)" in (
        await refused.text())
    assert services.index.user_named("viewer") is not None
    before = services.store.recorder.max_notification_id()
    # Oneself: not offered, and refused if posted anyway.
    me = await client.get("/admin/users/admin/delete")
    assert me.status == 403 and "You cannot delete yourself" in await me.text()
    myself = await client.post("/admin/users/admin/delete", data={
        "confirm": "admin", "_csrf": csrf_of(page)})
    assert myself.status == 403 and "You cannot delete yourself" in await myself.text()
    assert services.store.recorder.max_notification_id() == before
    # Not an admin: the page is forbidden and the post refused.
    await sign_in(client, "owner")
    page = await (await client.get("/teams")).text()
    assert (await client.get("/admin/users/viewer/delete")).status == 403
    assert (await client.post("/admin/users/viewer/delete", data={
        "confirm": "viewer", "_csrf": csrf_of(page)})).status == 403
    assert services.index.user_named("viewer") is not None


async def test_the_registry_is_edited_but_its_hostname_stays_once_it_holds_repositories(
        client: Client, world: World) -> None:
    services = client.app[SERVICES]
    await sign_in(client, "admin")
    page = await (await client.get("/admin/registry")).text()
    assert 'action="/admin/registry/settings"' in page and 'value="registry.test:5000"' in page
    saved = await client.post("/admin/registry/settings", data={
        "name": "<b>main</b>", "hostname": "moved.test:5000",
        "external_hostname": "registry.example.org", "use_ssl": "on",
        "_csrf": csrf_of(page)})
    html = await saved.text()
    assert saved.status == 200 and "settings were saved" in html
    assert 'value="&lt;b&gt;main&lt;/b&gt;"' in html
    registry = services.index.registry
    assert registry is not None and registry.hostname == "moved.test:5000"
    assert registry.use_ssl and registry.external_hostname == "registry.example.org"
    # A blank name is refused next to the field; what was typed stays.
    blank = await client.post("/admin/registry/settings", data={
        "name": " ", "hostname": "typed.test:5000", "external_hostname": "",
        "_csrf": csrf_of(html)})
    body = await blank.text()
    assert blank.status == 422 and "Name can&#39;t be blank" in body
    assert 'value="typed.test:5000"' in body
    assert services.index.registry.hostname == "moved.test:5000"  # type: ignore[union-attr]
    # Once a repository exists, the hostname is fixed; the error sits next to the field.
    assert (await post(client, {"events": [
        event("push", "webns/app", tag="v1", dig=digest(1))]})).status == 202
    page = await (await client.get("/admin/registry")).text()
    assert "It cannot change now" in page
    refused = await client.post("/admin/registry/settings", data={
        "name": "main", "hostname": "elsewhere.test:5000", "external_hostname": "",
        "_csrf": csrf_of(page)})
    body = await refused.text()
    assert refused.status == 422
    assert 'id="e-hostname">Registry is not empty, cannot change hostname' in body
    assert 'value="elsewhere.test:5000"' in body
    registry = services.index.registry
    assert registry is not None and registry.hostname == "moved.test:5000"
    assert registry.name == "<b>main</b>" and registry.use_ssl


async def test_namespace_settings_errors_sit_next_to_their_field_and_keep_the_input(
        client: Client, world: World) -> None:
    services = client.app[SERVICES]
    await sign_in(client, "owner")
    page = await (await client.get("/namespaces/webns")).text()
    long = "<i>x</i>" * 2100
    too_long = await client.post("/namespaces/webns/description", data={
        "description": long, "_csrf": csrf_of(page)})
    body = await too_long.text()
    assert too_long.status == 422
    assert 'id="e-description">Description is too long' in body
    assert "&lt;i&gt;x&lt;/i&gt;" * 100 in body  # kept, escaped
    assert services.index.namespaces[world.namespace_ids["webns"]].name == "webns"
    moved = await client.post("/namespaces/webns/team", data={
        "team": "no-such-team", "_csrf": csrf_of(page)})
    assert moved.status == 404
    assert "Team unknown team &#39;no-such-team&#39;" in await moved.text()
    # With a team to move to, the transfer form is there and the error sits under its select.
    await services.execute(lambda: services.store.create_team(
        name="other", owner_id=world.user_ids["owner"]), actor="owner")
    moved = await client.post("/namespaces/webns/team", data={
        "team": "no-such-team", "_csrf": csrf_of(page)})
    assert moved.status == 404
    assert "id=\"e-team\">Team unknown team &#39;no-such-team&#39;" in await moved.text()
    assert services.index.namespaces[world.namespace_ids["webns"]].team_id == world.team_id


async def test_admins_edit_a_user_and_unlock_a_locked_account(
        client: Client, world: World) -> None:
    services = client.app[SERVICES]
    contributor = world.user_ids["contributor"]
    await services.execute(lambda: services.store.record_password_failure(
        contributor, channel="test", now=services.passwords.clock(), max_attempts=1,
        lock_seconds=600))
    await sign_in(client, "admin")
    users = await (await client.get("/admin/users")).text()
    assert re.search(r'contributor</a> <span class="badge[^"]*">locked</span>', users)
    page = await (await client.get("/admin/users/contributor/edit")).text()
    assert "This account is locked" in page and 'value="contributor@example.org"' in page
    # A bad email and a short password: both named next to their field, nothing saved.
    bad = await client.post("/admin/users/contributor/edit", data={
        "email": "not-an-email", "display_name": "<b>Con</b>", "password": "short",
        "_csrf": csrf_of(page)})
    body = await bad.text()
    assert bad.status == 422 and 'id="e-password">' in body and 'id="e-email">' in body
    assert 'value="&lt;b&gt;Con&lt;/b&gt;"' in body and 'value="short"' not in body
    assert services.index.users[contributor].display_name in (None, "")
    # Valid: saved, the new password works, and unlocking ends the lockout.
    saved = await client.post("/admin/users/contributor/edit", data={
        "email": "con@example.org", "display_name": "<b>Con</b>",
        "password": "a new long password", "_csrf": csrf_of(page)})
    html = await saved.text()
    assert saved.status == 200 and "Saved." in html
    record = services.index.users[contributor]
    assert record.email == "con@example.org" and record.display_name == "<b>Con</b>"
    assert services.passwords.is_locked(contributor)
    unlocked = await client.post("/admin/users/contributor/unlock",
                                 data={"_csrf": csrf_of(html)})
    assert unlocked.status == 200 and "This account is locked" not in await unlocked.text()
    assert not services.passwords.is_locked(contributor)
    await sign_in(client, "contributor", "a new long password")
    # Not for non-admins: the page and both posts are forbidden.
    token = csrf_of(await (await client.get("/teams")).text())
    assert (await client.get("/admin/users/viewer/edit")).status == 403
    for path in ("/admin/users/viewer/edit", "/admin/users/viewer/unlock"):
        refused = await client.post(path, data={"email": "x@example.org", "_csrf": token})
        assert refused.status == 403
    assert services.index.user_named("viewer").email == "viewer@example.org"  # type: ignore[union-attr]
