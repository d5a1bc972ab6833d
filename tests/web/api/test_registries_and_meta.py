"""`/api/v1/registries` update and validate, `_ping`, `health`, `/api/version`, and deleting
users who own things."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from urllib.parse import urlencode

from tests.conftest import AppStarter
from tests.e2e.registry import RegistryProcess
from tests.web.api.helpers import Api
from tests.web.outage import event_log_hidden
from tests.web.world import SERVICE
from web.appkeys import SERVICES, SETTINGS


async def test_registry_show_update_validate(api: Api) -> None:
    [registry] = await api.ok("GET", "/api/v1/registries")
    assert registry["id"] == 1 and registry["hostname"] == SERVICE
    second = await api.call("POST", "/api/v1/registries",
                            json={"registry": {"name": "b", "hostname": "b.test"}})
    assert second.status == 400
    assert (await second.json())["message"] == {"registry": ["You can only create one registry"]}
    updated = await api.ok("PUT", "/api/v1/registries/1", json={"registry": {
        "external_hostname": "registry.example.com", "use_ssl": True}})
    assert updated["external_hostname"] == "registry.example.com" and updated["use_ssl"]
    assert updated["hostname"] == SERVICE
    # The global namespace shows the name clients use.
    listed = await api.ok("GET", "/api/v1/namespaces?all=true", who="outsider")
    assert "registry.example.com" in [n["name"] for n in listed]
    bad = await api.call("PUT", "/api/v1/registries/1", json={"registry": {"use_ssl": "maybe"}})
    assert bad.status == 400 and (await bad.json())["message"] == {"use_ssl": ["is invalid"]}
    assert (await api.call("PUT", "/api/v1/registries/2", json={})).status == 404
    assert (await api.call("PUT", "/api/v1/registries/1", who="owner", json={})).status == 403
    invalid = await api.ok("GET", "/api/v1/registries/validate?name=&hostname=a%20b")
    assert invalid["valid"] is False
    assert set(invalid["messages"]) == {"name", "hostname", "registry"}


async def test_validate_probes_the_registry_like_portus(api: Api, tmp_path: Path) -> None:
    services = api.client.app[SERVICES]

    async def validate(hostname: str, **extra: str) -> object:
        query = urlencode({"name": "x", "hostname": hostname, "use_ssl": "false",
                           "only[]": "hostname", **extra})
        return await api.ok("GET", f"/api/v1/registries/validate?{query}")

    # A real Distribution registry answers GET /v2/ with 401 and its API version header.
    registry = await asyncio.to_thread(
        RegistryProcess.start, tmp_path / "registry", realm="http://127.0.0.1:1/v2/token",
        service=SERVICE, issuer=services.settings.issuer,
        rootcertbundle=services.signing_key.certificate_path)
    try:
        assert await validate(registry.host) == {"valid": True, "messages": {}}
        # The same registry spoken to over TLS: Portus's SSL message.
        tls = await validate(registry.host, use_ssl="true")
        assert tls == {"valid": False, "messages": {"hostname": [
            "OpenSSL::SSL::SSLError: could not stablish connection: SSL error"]}}
    finally:
        await asyncio.to_thread(registry.stop)
    # A closed port: Portus's words for a refused connection.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{sock.getsockname()[1]}"  # bound, never listening
        assert await validate(closed) == {"valid": False, "messages": {"hostname": [
            "Errno::ECONNREFUSED: connection refused"]}}
    # Something that answers HTTP but is not a registry (Wharfinger itself has no /v2/).
    ours = f"127.0.0.1:{api.client.port}"
    assert await validate(ours) == {"valid": False, "messages": {"hostname": [
        "Error: registry does not implement v2 of the API."]}}
    # Not a host[:port]: refused without connecting anywhere.
    assert await validate("a/b") == {"valid": False, "messages": {"hostname": ["is invalid"]}}


async def test_ping_health_version(api: Api) -> None:
    assert await api.ok("GET", "/api/v1/_ping", who=None) == {}
    health = await api.ok("GET", "/api/v1/health", who=None)
    assert health["database"]["success"] is True
    assert (await api.call("GET", "/api/version", who=None)).status == 401
    version = await api.ok("GET", "/api/version", who="viewer")
    assert version["api-versions"] == ["v1"] and version["version"]


async def test_health_fails_closed_when_the_log_is_not_read(start_app: AppStarter) -> None:
    client = await start_app(WHARFINGER_TOKEN_MAX_STALENESS_SECONDS="1")
    assert (await client.get("/api/v1/health")).status == 200
    with event_log_hidden(client.app[SETTINGS]):
        # Fails closed once the last good read is older than the bound (1 s), naming the error.
        for _ in range(100):
            response = await client.get("/api/v1/health")
            if response.status != 200:
                break
            await asyncio.sleep(0.1)
        assert response.status == 503
        database = (await response.json())["database"]
        assert database["success"] is False, database
        assert database["msg"] != "event log is readable"
    for _ in range(100):  # and is healthy again once the store answers
        response = await client.get("/api/v1/health")
        if response.status == 200:
            break
        await asyncio.sleep(0.1)
    assert response.status == 200


async def test_deleting_a_user_who_owns_things(api: Api) -> None:
    assert api.world.team_id is not None
    team = api.id_of(api.world.team_id)
    # The only owner of a team is not deleted: the team would be left without one.
    refused = await api.call("DELETE", "/api/v1/users/2")
    assert refused.status == 422
    assert "only owner" in str(await refused.json())
    # With another owner, the user goes: their membership, personal namespace and name too.
    await api.ok("PUT", f"/api/v1/teams/{team}/members/3", who="owner", json={"role": "owner"})
    await api.ok("DELETE", "/api/v1/users/2", status=204)
    members = await api.ok("GET", f"/api/v1/teams/{team}/members", who="contributor")
    assert [m["user_id"] for m in members] == [3, 4]
    namespaces = await api.ok("GET", "/api/v1/namespaces?all=true")
    assert "owner" not in [n["name"] for n in namespaces]
    # Admins cannot delete themselves.
    assert (await api.call("DELETE", "/api/v1/users/1")).status == 403
    # The username and the personal namespace's name are free again.
    again = await api.ok("POST", "/api/v1/users", json={"user": {
        "username": "owner", "email": "owner@example.org", "password": "a long password"}},
        status=201)
    assert again["id"] == 6 and isinstance(again["namespace_id"], int)
