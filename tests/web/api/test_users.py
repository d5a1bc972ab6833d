"""`/api/v1/users` and application tokens, with Portus's holes §7.8-§7.10 closed."""

from __future__ import annotations

from typing import Any

from tests.conftest import AppStarter
from tests.ui.test_console_http import sign_in
from tests.web.api.helpers import Api
from tests.web.world import SERVICE
from web.appkeys import SERVICES

USER_KEYS = {"id", "username", "email", "current_sign_in_at", "last_sign_in_at", "created_at",
             "updated_at", "admin", "enabled", "locked_at", "namespace_id", "display_name", "bot",
             "auditor"}


async def test_admin_lists_shows_creates_updates_and_deletes_users(api: Api) -> None:
    users: list[dict[str, Any]] = await api.ok("GET", "/api/v1/users")
    assert [u["username"] for u in users] == [
        "admin", "owner", "contributor", "viewer", "outsider"]
    assert set(users[0]) == USER_KEYS and users[0]["id"] == 1 and users[0]["admin"]
    assert isinstance(users[0]["namespace_id"], int)
    # Show by id, then by email (Portus's `:id_or_email`).
    assert (await api.ok("GET", "/api/v1/users/2"))["username"] == "owner"
    assert (await api.ok("GET", "/api/v1/users/viewer@example.org"))["username"] == "viewer"
    # Create: 201 with the new user's integer id; the name is taken afterwards.
    body = {"user": {"username": "carol", "email": "carol@example.org",
                     "password": "a long password", "display_name": "Carol"}}
    carol = await api.ok("POST", "/api/v1/users", json=body, status=201)
    assert carol["id"] == 6 and carol["display_name"] == "Carol" and not carol["admin"]
    again = await api.call("POST", "/api/v1/users", json=body)
    assert again.status == 409
    refused = await again.json()
    assert refused["message"] == {"username": ["has already been taken"]}
    assert refused["field"] == "username"
    # Update the email; the old one is free again.
    updated = await api.ok("PUT", "/api/v1/users/6",
                           json={"user": {"email": "c@example.org"}})
    assert updated["email"] == "c@example.org"
    # Delete: 204, gone from lists and look-ups, id never reused, name free again.
    await api.ok("DELETE", "/api/v1/users/6", status=204)
    assert (await api.call("GET", "/api/v1/users/6")).status == 404
    body["user"]["email"] = "carol@example.org"
    again_carol = await api.ok("POST", "/api/v1/users", json=body, status=201)
    assert again_carol["id"] == 7


async def test_users_api_is_for_admins_only(api: Api) -> None:
    assert (await api.call("GET", "/api/v1/users", who=None)).status == 401
    response = await api.call("GET", "/api/v1/users", who="owner")
    assert response.status == 403
    assert (await response.json())["message"] == "Authorization fails"
    create = await api.call("POST", "/api/v1/users", who="owner", json={
        "username": "x", "email": "x@example.org", "password": "a long password"})
    assert create.status == 403


async def test_first_admin_is_enforced_on_the_server(api: Api) -> None:
    """Portus §7.8: the server trusted an `admin` parameter; here no such field is accepted and
    bootstrap is refused once anybody exists."""
    response = await api.call("POST", "/api/v1/users", json={"user": {
        "username": "mallory", "email": "m@example.org", "password": "a long password",
        "admin": True}})
    assert response.status == 400
    assert (await response.json())["message"] == {"admin": ["is not a known field"]}
    boot = await api.call("POST", "/api/v1/users/bootstrap", who=None, json={
        "username": "mallory", "email": "m@example.org", "password": "a long password"})
    assert boot.status == 400


async def test_bots_get_a_default_token_once_and_no_personal_namespace(api: Api) -> None:
    bot = await api.ok("POST", "/api/v1/users", json={"user": {"username": "ci-bot",
                                                               "bot": True}}, status=201)
    assert bot["bot"] and bot["namespace_id"] is None and bot["plain_token"].startswith("wht_")
    # The token works as Portus-Auth.
    response = await api.client.get("/api/version",
                                    headers={"Portus-Auth": f"ci-bot:{bot['plain_token']}"})
    assert response.status == 200
    tokens = await api.ok("GET", f"/api/v1/users/{bot['id']}/application_tokens")
    assert [t["application"] for t in tokens] == ["default"]
    # Admins manage bots' tokens.
    await api.ok("DELETE", f"/api/v1/users/application_tokens/{tokens[0]['id']}", status=204)
    response = await api.client.get("/api/version",
                                    headers={"Portus-Auth": f"ci-bot:{bot['plain_token']}"})
    assert response.status == 401


async def test_application_tokens_only_for_oneself(api: Api) -> None:
    """Portus §7.10: anyone could list and create tokens for any user id (impersonation)."""
    admin_id, owner_id = 1, 2
    # The owner lists and creates their own tokens.
    mine = await api.ok("GET", f"/api/v1/users/{owner_id}/application_tokens", who="owner")
    assert [t["application"] for t in mine] == ["tests"]
    created = await api.ok("POST", f"/api/v1/users/{owner_id}/application_tokens",
                           who="owner", json={"application": "laptop"}, status=201)
    assert created["application"] == "laptop" and created["plain_token"].startswith("wht_")
    duplicate = await api.call("POST", f"/api/v1/users/{owner_id}/application_tokens",
                               who="owner", json={"application": "laptop"})
    assert duplicate.status == 409
    assert (await duplicate.json())["message"] == {"application": ["has already been taken"]}
    # Nobody else's: not even an admin for a person (only for bots).
    for who, target in (("owner", admin_id), ("viewer", owner_id), ("admin", owner_id)):
        for method in ("GET", "POST"):
            response = await api.call(method, f"/api/v1/users/{target}/application_tokens",
                                      who=who, json={"application": "steal"})
            assert response.status == 403, (who, target, method)
    revoke = await api.call("DELETE", f"/api/v1/users/application_tokens/{created['id']}",
                            who="viewer")
    assert revoke.status == 403
    await api.ok("DELETE", f"/api/v1/users/application_tokens/{created['id']}", who="owner",
                 status=204)
    assert (await api.call("DELETE", f"/api/v1/users/application_tokens/{created['id']}",
                           who="owner")).status == 404


async def test_disabled_users_tokens_are_refused_everywhere(api: Api) -> None:
    """Portus §7.9: API token auth ignored the disabled state."""
    owner = 2
    disabled = await api.ok("PUT", f"/api/v1/users/{owner}/toggle_enabled")
    assert disabled["enabled"] is False
    assert (await api.call("GET", "/api/version", who="owner")).status == 401
    token = await api.client.get("/v2/token", params={"service": "registry.test:5000"},
                                 headers=api.world.basic("owner"))
    assert token.status == 401
    # Only admins re-enable.
    await api.ok("PUT", f"/api/v1/users/{owner}/toggle_enabled")
    assert (await api.call("GET", "/api/version", who="owner")).status == 200


async def test_enable_and_admin_toggles_follow_portus_rules(api: Api) -> None:
    # Users may disable themselves; only admins re-enable.
    viewer = 4
    await api.ok("PUT", f"/api/v1/users/{viewer}/toggle_enabled", who="viewer")
    assert (await api.call("PUT", f"/api/v1/users/{viewer}/toggle_enabled",
                           who="viewer")).status == 401  # disabled: token refused
    await api.ok("PUT", f"/api/v1/users/{viewer}/toggle_enabled")
    # Non-admins do not disable others.
    assert (await api.call("PUT", "/api/v1/users/5/toggle_enabled", who="viewer")).status == 403
    # The last enabled admin cannot be disabled, not even by himself.
    response = await api.call("PUT", "/api/v1/users/1/toggle_enabled")
    assert response.status == 422
    # An admin never toggles his own admin flag; becoming admin makes one an admins-team owner.
    assert (await api.call("PUT", "/api/v1/users/1/toggle_admin")).status == 403
    made = await api.ok("PUT", "/api/v1/users/5/toggle_admin")
    assert made["admin"] is True
    index = api.client.app[SERVICES].index
    outsider = index.user_named("outsider")
    assert outsider is not None
    admins_team = next(t for t in index.teams.values() if t.kind.value == "admins")
    assert admins_team.members[outsider.id].value == "owner"
    assert (await api.call("PUT", "/api/v1/users/5/toggle_admin", who="owner")).status == 403


async def test_becoming_admin_makes_one_owner_of_every_team_one_is_in(api: Api) -> None:
    assert api.world.team_id is not None
    team = api.id_of(api.world.team_id)
    services = api.client.app[SERVICES]
    # The viewer of team web becomes an admin: owner of web (and of the admins team).
    await api.ok("PUT", "/api/v1/users/4/toggle_admin")
    members = await api.ok("GET", f"/api/v1/teams/{team}/members")
    assert {m["user_id"]: m["role"] for m in members}[4] == "owner"
    viewer = api.world.user_ids["viewer"]
    admins_team = next(t for t in services.index.teams.values() if t.kind.value == "admins")
    assert admins_team.members[viewer].value == "owner"
    # Recorded as a role change caused by the grant, so history shows why.
    log = [n for n in services.store.recorder.select_notifications(start=None, limit=1000)
           if n.topic.endswith("Team.MemberRoleChanged")]
    event = services.store.mapper.to_domain_event(log[-1])
    assert (event.user_id, event.old_role, event.new_role, event.cause, event.actor) == (
        viewer, "viewer", "owner", "admin_granted", "admin")
    # An admin is not demoted (F21).
    refused = await api.call("PUT", f"/api/v1/teams/{team}/members/4", json={"role": "viewer"})
    assert refused.status == 422
    # The activity feed says why.
    assert services.feed is not None
    await services.feed.catch_up()
    feed = await api.ok("GET", "/api/v1/activities?team=web&limit=100")
    assert any("admins are owners of their teams" in a["sentence"] for a in feed["activities"])


async def test_sign_in_times_come_from_console_sign_ins_and_token_requests(api: Api) -> None:
    services = api.client.app[SERVICES]
    assert services.feed is not None

    async def sign_in_times() -> tuple[str | None, str | None]:
        await services.feed.catch_up()
        shown = await api.ok("GET", "/api/v1/users/4")
        listed = {u["id"]: u for u in await api.ok("GET", "/api/v1/users?all=true")}[4]
        assert (listed["current_sign_in_at"], listed["last_sign_in_at"]) == (
            shown["current_sign_in_at"], shown["last_sign_in_at"])
        return shown["current_sign_in_at"], shown["last_sign_in_at"]

    assert await sign_in_times() == (None, None)
    # docker login with an application token: Portus (Devise trackable) counts it.
    token = await api.client.get("/v2/token", params={"service": SERVICE, "account": "viewer"},
                                 headers=api.world.basic("viewer"))
    assert token.status == 200
    first, before = await sign_in_times()
    assert first is not None and before is None
    # Neither a refused token request nor a REST API call is a sign-in.
    refused = await api.client.get("/v2/token", params={"service": SERVICE},
                                   headers=api.world.basic("viewer", "wrong password"))
    assert refused.status == 401
    await api.ok("GET", "/api/v1/namespaces", who="viewer")
    assert await sign_in_times() == (first, None)
    # A console sign-in: the latest becomes current, the one before becomes last.
    await sign_in(api.client, "viewer")
    current, last = await sign_in_times()
    assert current is not None and current > first and last == first


async def test_bootstrap_refuses_fields_it_does_not_take_and_creates_nobody(
        start_app: AppStarter) -> None:
    client = await start_app()
    body = {"username": "first", "email": "first@example.org", "password": "a long password"}
    extra = await client.post("/api/v1/users/bootstrap", json={**body, "admin": False})
    assert extra.status == 400
    assert (await extra.json())["message"] == {"admin": ["is not a known field"]}
    created = await client.post("/api/v1/users/bootstrap", json=body)  # nobody was created
    assert created.status == 201, await created.text()


async def test_admins_grant_and_revoke_the_auditor_role_through_the_api(api: Api) -> None:
    services = api.client.app[SERVICES]
    outsider = 5
    probe = "/api/v1/audit/users/viewer/permissions"
    assert (await api.call("GET", probe, who="outsider")).status == 403
    # Nobody but an admin toggles it: no credentials, a team owner, the target himself.
    for who, status in ((None, 401), ("owner", 403), ("outsider", 403)):
        refused = await api.call("PUT", f"/api/v1/users/{outsider}/toggle_auditor", who=who)
        assert refused.status == status
        assert (await refused.json())["message"]
    assert not services.index.users[api.world.user_ids["outsider"]].auditor
    # Unknown or malformed ids are a 404 with a JSON body.
    for missing in ("999", "x"):
        gone = await api.call("PUT", f"/api/v1/users/{missing}/toggle_auditor")
        assert gone.status == 404 and (await gone.json())["message"]
    # Granted: the user JSON says so and the audit API answers him.
    granted = await api.ok("PUT", f"/api/v1/users/{outsider}/toggle_auditor")
    assert granted["auditor"] is True and granted["admin"] is False
    assert (await api.call("GET", probe, who="outsider")).status == 200
    # Revoked: refused again.
    revoked = await api.ok("PUT", f"/api/v1/users/{outsider}/toggle_auditor")
    assert revoked["auditor"] is False
    assert (await api.call("GET", probe, who="outsider")).status == 403
    # Both are events on the user, with the admin as actor.
    topics = ("User.AuditorGranted", "User.AuditorRevoked")
    log = [services.store.mapper.to_domain_event(n)
           for n in services.store.recorder.select_notifications(start=None, limit=1000)
           if n.topic.endswith(topics)]
    assert [(type(e).__name__, e.originator_id, e.actor) for e in log] == [
        ("AuditorGranted", api.world.user_ids["outsider"], "admin"),
        ("AuditorRevoked", api.world.user_ids["outsider"], "admin")]
