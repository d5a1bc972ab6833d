"""LDAP authentication against a real slapd: search then bind, refusals, TLS, admin_base, outage."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from tests.ldap.conftest import LdapApp
from tests.ldap.slapd import USER_PASSWORD, Slapd
from tests.web.world import PASSWORD, SERVICE, basic, build_world
from web.appkeys import SERVICES


async def token(client: TestClient, username: str, password: str) -> tuple[int, dict[str, object]]:  # type: ignore[type-arg]
    response = await client.get("/v2/token", params={"service": SERVICE},
                                headers=basic(username, password))
    return response.status, await response.json()


async def test_search_then_bind_creates_the_user_on_first_login(ldap_app: LdapApp) -> None:
    client = await ldap_app(WHARFINGER_LDAP_GUESS_EMAIL_ENABLED="true",
                            WHARFINGER_LDAP_GUESS_EMAIL_ATTR="mail")
    services = client.app[SERVICES]
    assert services.index.user_named("alice") is None
    status, _ = await token(client, "alice", USER_PASSWORD)
    assert status == 200
    alice = services.index.user_named("alice")
    assert alice is not None and alice.password_hash is None and not alice.admin
    assert alice.email == "alice@corp.example"
    assert services.accounts.of(alice.id).directory_dn == "uid=alice,ou=people,dc=example,dc=org"
    # Signing in again finds the same account and creates nothing.
    before = services.index.position
    assert (await token(client, "alice", USER_PASSWORD))[0] == 200
    assert services.index.position == before


async def test_email_guessed_from_the_dn_when_no_attribute(ldap_app: LdapApp) -> None:
    client = await ldap_app(WHARFINGER_LDAP_GUESS_EMAIL_ENABLED="true")
    assert (await token(client, "bob", USER_PASSWORD))[0] == 200
    bob = client.app[SERVICES].index.user_named("bob")
    assert bob is not None and bob.email == "bob@example.org"


REFUSED = [
    ("alice", "wrong password"),   # wrong password
    ("nobody", USER_PASSWORD),     # unknown user
    ("alice", ""),                 # empty password: an unauthenticated bind would succeed
    ("*", USER_PASSWORD),          # filter metacharacters are escaped, never a wildcard
    ("al*", USER_PASSWORD),
    ("alice)(uid=*", USER_PASSWORD),
    ("*)(|(uid=*", USER_PASSWORD),
    ("alice\\", USER_PASSWORD),
    ("alice\x00", USER_PASSWORD),
    ("uid=alice,ou=people,dc=example,dc=org", USER_PASSWORD),  # a DN is not a username
    ("alice", "x" * 129),          # over-long: refused before binding
]


async def test_refusals_create_nobody(ldap_app: LdapApp) -> None:
    client = await ldap_app()
    for username, password in REFUSED:
        status, body = await token(client, username, password)
        assert status == 401, (username, body)
    assert not client.app[SERVICES].index.users


async def test_admin_base_makes_an_admin(ldap_app: LdapApp) -> None:
    client = await ldap_app()
    assert (await token(client, "root", USER_PASSWORD))[0] == 200
    root = client.app[SERVICES].index.user_named("root")
    assert root is not None and root.admin
    assert (await token(client, "carol", USER_PASSWORD))[0] == 200
    carol = client.app[SERVICES].index.user_named("carol")
    assert carol is not None and not carol.admin


async def test_extra_filter_limits_who_may_sign_in(ldap_app: LdapApp) -> None:
    client = await ldap_app(WHARFINGER_LDAP_FILTER="(mail=bob@corp.example)")
    assert (await token(client, "bob", USER_PASSWORD))[0] == 200
    assert (await token(client, "alice", USER_PASSWORD))[0] == 401


async def test_starttls_with_the_test_ca(ldap_app: LdapApp, slapd: Slapd) -> None:
    client = await ldap_app(WHARFINGER_LDAP_ENCRYPTION_METHOD="start_tls",
                            WHARFINGER_LDAP_ENCRYPTION_OPTIONS_CA_FILE=str(slapd.ca_file))
    assert (await token(client, "alice", USER_PASSWORD))[0] == 200


async def test_starttls_refuses_a_server_the_ca_does_not_vouch_for(ldap_app: LdapApp,
                                                                     tmp_path: object) -> None:
    # The system CAs do not know the test CA: certificate validation must fail, closed.
    client = await ldap_app(WHARFINGER_LDAP_ENCRYPTION_METHOD="start_tls")
    status, body = await token(client, "alice", USER_PASSWORD)
    assert status == 503
    assert "ldap" in str(body["message"]).lower()


async def test_ldaps_with_the_test_ca(ldap_app: LdapApp, slapd: Slapd) -> None:
    client = await ldap_app(WHARFINGER_LDAP_ENCRYPTION_METHOD="simple_tls",
                            WHARFINGER_LDAP_PORT=str(slapd.tls_port),
                            WHARFINGER_LDAP_ENCRYPTION_OPTIONS_CA_FILE=str(slapd.ca_file))
    assert (await token(client, "alice", USER_PASSWORD))[0] == 200


async def test_bad_service_bind_is_a_clear_error_naming_the_key(ldap_app: LdapApp) -> None:
    client = await ldap_app(WHARFINGER_LDAP_AUTHENTICATION_PASSWORD="not it")
    status, body = await token(client, "alice", USER_PASSWORD)
    assert status == 503
    assert "ldap.authentication.bind_dn" in str(body["message"])
    assert "Invalid Credentials (code 49)" in str(body["message"])


async def test_directory_down_is_clear_and_local_users_still_work(
        ldap_app: LdapApp, slapd: Slapd) -> None:
    client = await ldap_app()
    await build_world(client)  # local users with passwords, registered before LDAP mattered
    assert (await token(client, "alice", USER_PASSWORD))[0] == 200
    slapd.stop()
    status, body = await token(client, "alice", USER_PASSWORD + "x")
    assert status == 503 and "unreachable" in str(body["message"])
    status, body = await token(client, "nobody", USER_PASSWORD)
    assert status == 503
    # Local accounts and their application tokens never depend on the directory.
    assert (await token(client, "viewer", PASSWORD))[0] == 200


async def test_local_users_and_bots_are_checked_locally(ldap_app: LdapApp) -> None:
    client = await ldap_app()
    world = await build_world(client)
    assert (await token(client, "viewer", PASSWORD))[0] == 200
    assert (await token(client, "viewer", world.tokens["viewer"]))[0] == 200
    assert (await token(client, "viewer", "wrong password"))[0] == 401


async def test_a_local_name_that_exists_in_the_directory_is_refused(
        ldap_app: LdapApp, slapd: Slapd) -> None:
    from domain.errors import DomainError
    from web.ldap.sync import refuse_directory_username

    client = await ldap_app()
    services = client.app[SERVICES]
    await refuse_directory_username(services, "zed")  # free
    await refuse_directory_username(services, "*")  # escaped: matches nobody
    with pytest.raises(DomainError, match="'alice' already exists on the LDAP server") as taken:
        await refuse_directory_username(services, "alice")
    assert taken.value.status == 422 and taken.value.field == "ldap"
    slapd.stop()
    # An unreachable directory cannot vouch for a name: 503, not a guess.
    with pytest.raises(DomainError, match="cannot check the name") as down:
        await refuse_directory_username(services, "zed")
    assert down.value.status == 503


async def test_health_reports_the_directory_and_names_a_bad_key(ldap_app: LdapApp,
                                                                 slapd: Slapd) -> None:
    client = await ldap_app()
    response = await client.get("/api/v1/health")
    body = await response.json()
    assert response.status == 200, body
    assert body["ldap"] == {"msg": "LDAP server is reachable", "success": True}
    bad_base = await ldap_app(WHARFINGER_LDAP_BASE="ou=nobody,dc=example,dc=org")
    response = await bad_base.get("/api/v1/health")
    body = await response.json()
    # Reported, not fatal: the node still serves local users (a load balancer keeps it).
    assert response.status == 200
    assert body["ldap"]["success"] is False and "ldap.base" in body["ldap"]["msg"]
    assert body["database"]["success"] is True
    slapd.stop()
    response = await client.get("/api/v1/health")
    body = await response.json()
    assert body["ldap"]["success"] is False and "unreachable" in body["ldap"]["msg"]


async def test_api_refuses_a_local_user_named_like_a_directory_user(ldap_app: LdapApp) -> None:
    client = await ldap_app()
    world = await build_world(client)
    headers = {"Portus-Auth": f"admin:{world.tokens['admin']}"}
    taken = await client.post("/api/v1/users", headers=headers, json={"user": {
        "username": "alice", "email": "alice@example.org", "password": "long enough pw"}})
    assert taken.status == 422
    assert "already exists on the LDAP server" in str((await taken.json())["message"])
    free = await client.post("/api/v1/users", headers=headers, json={"user": {
        "username": "zed", "email": "zed@example.org", "password": "long enough pw"}})
    assert free.status == 201, await free.text()


async def test_misconfiguration_is_reported_at_start_naming_the_key(
        ldap_app: LdapApp, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("ERROR", logger="web.ldap.sync"):
        await ldap_app(WHARFINGER_LDAP_AUTHENTICATION_BIND_DN="cn=nobody,dc=example,dc=org")
    assert any("ldap.authentication.bind_dn" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level("ERROR", logger="web.ldap.sync"):
        await ldap_app(WHARFINGER_LDAP_GROUP_BASE="ou=missing,dc=example,dc=org")
    assert any("ldap.group_base" in r.getMessage() for r in caplog.records)
