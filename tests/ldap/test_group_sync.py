"""LDAP group → team sync against a real slapd: at login and periodic, adding and removing, as
events; users who never signed in; the team opt-out."""

from __future__ import annotations

import asyncio
from uuid import UUID

from aiohttp.test_utils import TestClient

from domain.teams import Team
from domain.users import User
from domain.values import Role, TeamKind
from eventstore.reader import read_after
from tests.ldap.conftest import LdapApp
from tests.ldap.slapd import USER_PASSWORD, Slapd
from tests.ldap.test_ldap_auth import token
from tests.web.world import World, build_world
from web.appkeys import SERVICES
from web.ldap.sync import sync_all_teams

NO_CACHE = {"WHARFINGER_CREDENTIAL_CACHE_TTL_SECONDS": "0"}


async def log_of(client: TestClient) -> list[tuple[str, object, str, str]]:  # type: ignore[type-arg]
    """(event name, aggregate id, actor, group or user) of the sync's events."""
    services = client.app[SERVICES]
    logged = await services.pool.run(read_after, services.store, 0, 10_000)
    out = []
    for item in logged:
        e = item.event
        if isinstance(e, User.SeenInDirectoryGroup | User.LeftDirectoryGroup):
            out.append((type(e).__name__, e.originator_id, e.actor, e.group))
        elif (isinstance(e, Team.MemberAdded | Team.MemberRemoved) and e.actor == "ldap"
              and services.index.teams[e.originator_id].kind is TeamKind.REGULAR):
            out.append((type(e).__name__, e.originator_id, e.actor, str(e.user_id)))
    return out


def user_id(client: TestClient, name: str) -> UUID:  # type: ignore[type-arg]
    user = client.app[SERVICES].index.user_named(name)
    assert user is not None
    return user.id


async def test_login_adds_to_the_team_named_like_the_group_then_removes(
        ldap_app: LdapApp, slapd: Slapd) -> None:
    client = await ldap_app(**NO_CACHE)
    world: World = await build_world(client)  # team "web" owned by a local user
    services = client.app[SERVICES]
    assert (await token(client, "alice", USER_PASSWORD))[0] == 200
    alice = user_id(client, "alice")
    assert world.team_id is not None
    assert services.index.teams[world.team_id].members[alice] is Role.VIEWER
    assert await log_of(client) == [
        ("SeenInDirectoryGroup", alice, "ldap", "web"),
        ("MemberAdded", world.team_id, "ldap", str(alice))]
    # Nothing new in the directory: signing in again records nothing.
    position = services.index.position
    assert (await token(client, "alice", USER_PASSWORD))[0] == 200
    assert services.index.position == position
    # Alice leaves the LDAP group: her next sign-in takes her out of the team.
    slapd.remove_member("web", "alice")
    assert (await token(client, "alice", USER_PASSWORD))[0] == 200
    assert alice not in services.index.teams[world.team_id].members
    assert (await log_of(client))[2:] == [
        ("LeftDirectoryGroup", alice, "ldap", "web"),
        ("MemberRemoved", world.team_id, "ldap", str(alice))]
    # Local members of the team are never touched by the sync.
    assert world.user_ids["viewer"] in services.index.teams[world.team_id].members


async def test_removal_can_be_switched_off(ldap_app: LdapApp, slapd: Slapd) -> None:
    client = await ldap_app(WHARFINGER_LDAP_GROUP_SYNC_REMOVE_MEMBERS="false", **NO_CACHE)
    world = await build_world(client)
    assert (await token(client, "alice", USER_PASSWORD))[0] == 200
    slapd.remove_member("web", "alice")
    assert (await token(client, "alice", USER_PASSWORD))[0] == 200
    assert world.team_id is not None
    team = client.app[SERVICES].index.teams[world.team_id]
    assert user_id(client, "alice") in team.members
    # The observation is still recorded: the directory changed even if the team did not.
    assert [e[0] for e in await log_of(client)][-1] == "LeftDirectoryGroup"


async def test_default_role_is_configurable(ldap_app: LdapApp) -> None:
    client = await ldap_app(WHARFINGER_LDAP_GROUP_SYNC_DEFAULT_ROLE="contributor")
    world = await build_world(client)
    assert (await token(client, "bob", USER_PASSWORD))[0] == 200
    assert world.team_id is not None
    team = client.app[SERVICES].index.teams[world.team_id]
    assert team.members[user_id(client, "bob")] is Role.CONTRIBUTOR


async def test_periodic_sync_adds_users_who_never_signed_in_and_removes_leavers(
        ldap_app: LdapApp, slapd: Slapd) -> None:
    client = await ldap_app()
    world = await build_world(client)
    services = client.app[SERVICES]
    owner = world.user_ids["owner"]
    ops = await services.execute(lambda: services.store.create_team(name="ops", owner_id=owner))
    # carol (ops) and alice, bob (web) never signed in: the sync creates their accounts.
    assert await sync_all_teams(services) == 2
    carol = user_id(client, "carol")
    assert services.index.teams[ops.id].members[carol] is Role.VIEWER
    assert world.team_id is not None
    web = services.index.teams[world.team_id].members
    assert user_id(client, "alice") in web and user_id(client, "bob") in web
    assert services.accounts.of(carol).directory_dn == "uid=carol,ou=people,dc=example,dc=org"
    # A second pass with no directory change records nothing.
    position = services.index.position
    await sync_all_teams(services)
    assert services.index.position == position
    # carol leaves ops (bob joins it: a groupOfNames needs a member) and joins web.
    slapd.add_member("ops", "bob")
    slapd.remove_member("ops", "carol")
    slapd.add_member("web", "carol")
    await sync_all_teams(services)
    assert carol not in services.index.teams[ops.id].members
    assert carol in services.index.teams[world.team_id].members
    events = [e for e in await log_of(client) if e[1] == carol or e[3] == str(carol)]
    assert [(name, group) for name, _, _, group in events] == [
        ("SeenInDirectoryGroup", "ops"), ("MemberAdded", str(carol)),  # first pass
        ("SeenInDirectoryGroup", "web"), ("MemberAdded", str(carol)),  # teams in creation order
        ("LeftDirectoryGroup", "ops"), ("MemberRemoved", str(carol))]
    # The account created by the sync signs in like any other.
    assert (await token(client, "carol", USER_PASSWORD))[0] == 200


async def test_team_opt_out(ldap_app: LdapApp, slapd: Slapd) -> None:
    client = await ldap_app(**NO_CACHE)
    world = await build_world(client)
    services = client.app[SERVICES]
    assert world.team_id is not None
    number = services.directory.number_of(world.team_id)
    # Only the team's owners (or an admin) may opt out.
    refused = await client.post(f"/api/v1/teams/{number}/ldap_check",
                                headers={"Portus-Auth": f"viewer:{world.tokens['viewer']}"})
    assert refused.status == 403
    response = await client.post(f"/api/v1/teams/{number}/ldap_check",
                                 headers={"Portus-Auth": f"owner:{world.tokens['owner']}"})
    assert response.status == 200, await response.text()
    assert services.index.teams[world.team_id].id in services.accounts.teams_not_syncing
    assert (await token(client, "alice", USER_PASSWORD))[0] == 200
    await sync_all_teams(services)
    assert user_id(client, "alice") not in services.index.teams[world.team_id].members


async def test_opt_out_is_405_without_group_sync(ldap_app: LdapApp) -> None:
    client = await ldap_app(WHARFINGER_LDAP_GROUP_SYNC_ENABLED="false")
    world = await build_world(client)
    number = client.app[SERVICES].directory.number_of(world.team_id)  # type: ignore[arg-type]
    response = await client.post(f"/api/v1/teams/{number}/ldap_check",
                                 headers={"Portus-Auth": f"owner:{world.tokens['owner']}"})
    assert response.status == 405


async def test_time_travel_answers_with_the_directory_as_it_was(ldap_app: LdapApp,
                                                                slapd: Slapd) -> None:
    from datetime import UTC, datetime

    client = await ldap_app(**NO_CACHE)
    world = await build_world(client)
    admin = {"Portus-Auth": f"admin:{world.tokens['admin']}"}
    assert (await token(client, "alice", USER_PASSWORD))[0] == 200  # synced into team web
    await asyncio.sleep(0.01)
    while_member = datetime.now(UTC).isoformat()
    await asyncio.sleep(0.01)
    slapd.remove_member("web", "alice")
    assert (await token(client, "alice", USER_PASSWORD))[0] == 200  # synced out again

    async def namespaces_at(when: str) -> set[str]:
        response = await client.get("/api/v1/audit/users/alice/permissions",
                                    params={"at": when}, headers=admin)
        assert response.status == 200, await response.text()
        return {ns["namespace"] for ns in (await response.json())["namespaces"]}

    assert "webns" in await namespaces_at(while_member)
    assert "webns" not in await namespaces_at("now")


async def test_sync_and_lockout_events_read_as_sentences_in_the_activity_feed(
        ldap_app: LdapApp, slapd: Slapd) -> None:
    client = await ldap_app(**NO_CACHE)
    world = await build_world(client)
    services = client.app[SERVICES]
    assert (await token(client, "alice", USER_PASSWORD))[0] == 200
    slapd.remove_member("web", "alice")
    assert (await token(client, "alice", USER_PASSWORD))[0] == 200
    assert (await token(client, "alice", "wrong password"))[0] == 401
    feed = services.feed
    assert feed is not None
    await feed.catch_up()
    response = await client.get("/api/v1/activities?limit=100",
                                headers={"Portus-Auth": f"admin:{world.tokens['admin']}"})
    assert response.status == 200, await response.text()
    sentences = [a["sentence"] for a in (await response.json())["activities"]]
    for expected in ("ldap saw alice in LDAP group web",
                     "ldap no longer sees alice in LDAP group web",
                     "anonymous gave a wrong password for alice (token, 1 in a row)"):
        assert expected in sentences, sentences
    assert any("alice" in s and "team web" in s and "ldap" in s for s in sentences), sentences
