"""The token endpoint's contract with clients (docker-token-auth.md §0) and its bad input."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from datetime import datetime

import jwt
import pytest
from aiohttp.test_utils import TestClient
from cryptography import x509
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import TEST_ISSUER, AppStarter
from tests.web.outage import event_log_hidden
from tests.web.world import PASSWORD, SERVICE, World, build_world
from web.appkeys import SERVICES, SETTINGS
from web.token.endpoint import token_body

SCOPE = "repository:webns/app:pull"


async def test_response_shape_and_claims(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    response = await client.get("/v2/token", params={"service": SERVICE, "scope": SCOPE,
                                                     "account": "viewer"},
                                headers=world.basic("viewer"))
    assert response.status == 200
    body = await response.json()
    assert body["token"] == body["access_token"]
    assert isinstance(body["expires_in"], int) and body["expires_in"] >= 60
    assert datetime.fromisoformat(body["issued_at"].replace("Z", "+00:00"))
    assert "refresh_token" not in body
    header = jwt.get_unverified_header(body["token"])
    assert header["alg"] == "ES256"
    assert re.fullmatch(r"([A-Z2-7]{4}:){11}[A-Z2-7]{4}", header["kid"])
    cert = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    claims = jwt.decode(body["token"], cert.public_key(), algorithms=["ES256"],  # type: ignore[arg-type]
                        audience=SERVICE, issuer=TEST_ISSUER)
    assert claims["sub"] == "viewer"
    assert all(isinstance(claims[k], int) for k in ("exp", "nbf", "iat"))
    assert isinstance(claims["aud"], str)
    assert claims["access"] == [{"type": "repository", "name": "webns/app", "actions": ["pull"]}]
    assert claims["exp"] - claims["iat"] == 15 * 60


async def test_sub_is_the_authenticated_user_never_the_account_parameter(
        client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    response = await client.get("/v2/token", params={"service": SERVICE, "account": "admin"},
                                headers=world.basic("viewer"))
    claims = jwt.decode((await response.json())["token"], options={"verify_signature": False})
    assert claims["sub"] == "viewer"
    anonymous = await client.get("/v2/token", params={"service": SERVICE, "account": "admin"})
    second = jwt.decode((await anonymous.json())["token"], options={"verify_signature": False})
    assert second["sub"] == ""
    # 128 random bits in hex: unique, and never a leading "-" that a CLI would read as an option.
    assert claims["jti"] != second["jti"]
    assert all(re.fullmatch(r"[0-9a-f]{32}", c["jti"]) for c in (claims, second))


async def test_password_login_like_docker_login_returns_a_refresh_token(
        client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    response = await client.get(
        "/v2/token", params={"service": SERVICE, "account": "viewer", "client_id": "docker",
                             "offline_token": "true"},
        headers=world.basic("viewer", PASSWORD))
    assert response.status == 200
    body = await response.json()
    refresh = body["refresh_token"]
    # containers/image then uses only the POST with a chunked body (§3.4)
    async def chunks():  # type: ignore[no-untyped-def]
        yield ("client_id=containers/image&grant_type=refresh_token"
               f"&refresh_token={refresh}").encode()
        yield f"&scope={SCOPE}&service={SERVICE}".encode()

    posted = await client.post("/v2/token", data=chunks(),
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert posted.status == 200, await posted.text()
    answer = await posted.json()
    assert answer["scope"] == SCOPE
    claims = jwt.decode(answer["access_token"], options={"verify_signature": False})
    assert claims["sub"] == "viewer"
    # bound to its service
    other = await client.post("/v2/token", data={
        "grant_type": "refresh_token", "refresh_token": refresh, "service": "other.test"})
    assert other.status == 401


async def test_refresh_token_dies_with_password_change_or_disable(
        client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    services = client.app[SERVICES]
    response = await client.post("/v2/token", data={
        "grant_type": "password", "username": "viewer", "password": PASSWORD,
        "service": SERVICE, "access_type": "offline", "client_id": "test"})
    assert response.status == 200
    refresh = (await response.json())["refresh_token"]
    form = {"grant_type": "refresh_token", "refresh_token": refresh, "service": SERVICE}
    assert (await client.post("/v2/token", data=form)).status == 200
    viewer_id = world.user_ids["viewer"]
    await services.execute(lambda: services.store.change_password(viewer_id, "sha256:other"))
    again = await client.post("/v2/token", data=form)
    assert again.status == 401
    assert "no longer valid" in (await again.text())

    login = await client.post("/v2/token", data={
        "grant_type": "password", "username": "owner", "password": PASSWORD,
        "service": SERVICE, "access_type": "offline"})
    owner_refresh = (await login.json())["refresh_token"]
    owner_id = world.user_ids["owner"]
    await services.execute(lambda: services.store.disable_user(owner_id))
    gone = await client.post("/v2/token", data={
        "grant_type": "refresh_token", "refresh_token": owner_refresh, "service": SERVICE})
    assert gone.status == 401


async def test_forged_refresh_tokens_are_refused(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    login = await client.post("/v2/token", data={
        "grant_type": "password", "username": "owner", "password": PASSWORD,
        "service": SERVICE, "access_type": "offline"})
    real = (await login.json())["refresh_token"]
    version, payload, mac = real.split(".")
    for forged in (f"{version}.{payload}.{mac[:-2]}AA", f"{version}.{payload[:-1]}x.{mac}",
                   "whr1.e30.AAAA", "nonsense", "a.b.c.d", "x" * 5000, "whr1..", "whr1.!!.!!"):
        response = await client.post("/v2/token", data={
            "grant_type": "refresh_token", "refresh_token": forged, "service": SERVICE})
        assert response.status in (400, 401), forged
        assert "message" in await response.json()


async def test_wrong_credentials_and_disabled_users_get_401_with_a_challenge(
        client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    services = client.app[SERVICES]
    for headers in (world.basic("viewer", "wrong password"), world.basic("nobody", "x"),
                    world.basic("viewer", "")):
        response = await client.get("/v2/token", params={"service": SERVICE},
                                    headers=headers)
        assert response.status == 401
        assert response.headers["WWW-Authenticate"].startswith("Basic realm=")
        assert "message" in await response.json()
    viewer_id = world.user_ids["viewer"]
    await services.execute(lambda: services.store.disable_user(viewer_id))
    for secret in (PASSWORD, world.tokens["viewer"]):
        response = await client.get("/v2/token", params={"service": SERVICE},
                                    headers=world.basic("viewer", secret))
        assert response.status == 401
        assert "disabled" in (await response.json())["message"]


@pytest.mark.parametrize("authorization", [
    "Basic !!!notbase64", "Basic " + base64.b64encode(b"no-colon").decode(),
    "Basic " + base64.b64encode(b"\xff\xfe:x").decode(), "Bearer abc",
    "Basic " + base64.b64encode(b":password").decode()])
async def test_malformed_basic_auth_is_a_400(client: TestClient, world: World,  # type: ignore[type-arg]
                                              authorization: str) -> None:
    response = await client.get("/v2/token", params={"service": SERVICE},
                                headers={"Authorization": authorization})
    assert response.status == 400
    assert "authorization" in str((await response.json())["message"])


@pytest.mark.parametrize("params", [
    {"service": SERVICE, "scope": "whale:foo,bar"},
    {"service": SERVICE, "scope": "repository:Bad/Name:pull"},
    {"service": SERVICE, "scope": "repository:a/b:pull\x00"},
    {"service": SERVICE, "scope": "repository:ünï/cödé:pull"},
    {"service": SERVICE, "scope": " ".join(f"repository:a/b{i}:pull" for i in range(200))},
    {"scope": SCOPE},
    {"service": ""},
    {"service": "a\x01b"},
    {"service": "a\x1fb"},
])
async def test_malformed_requests_are_400_with_json(client: TestClient, world: World,  # type: ignore[type-arg]
                                                    params: dict[str, str]) -> None:
    response = await client.get("/v2/token", params=params, headers=world.basic("viewer"))
    assert response.status == 400
    assert (await response.json())["message"]


async def test_huge_query_string_is_refused(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    response = await client.get("/v2/token?service=x&junk=" + "a" * 7000 + "&more=" + "b" * 2000)
    assert response.status in (400, 414)


async def test_over_long_password_is_refused_without_hashing(client: TestClient,  # type: ignore[type-arg]
                                                             world: World) -> None:
    response = await client.get("/v2/token", params={"service": SERVICE},
                                headers=world.basic("viewer", "p" * 3000))
    assert response.status in (400, 401)


@pytest.mark.parametrize("form", [
    {"grant_type": "client_credentials", "service": SERVICE},
    {"grant_type": "password", "service": SERVICE, "username": "viewer"},
    {"grant_type": "refresh_token", "service": SERVICE},
    {"grant_type": "refresh_token", "service": SERVICE, "refresh_token": "a" * 300 + "\x1f"},
    {"service": SERVICE},
])
async def test_bad_oauth_forms_are_400(client: TestClient, world: World,  # type: ignore[type-arg]
                                       form: dict[str, str]) -> None:
    response = await client.post("/v2/token", data=form)
    assert response.status == 400
    assert (await response.json())["message"]


async def test_post_requires_a_form(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    response = await client.post("/v2/token", json={"grant_type": "password"})
    assert response.status == 400


async def test_ping(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    assert (await client.get("/v2/", headers=world.basic("viewer"))).status == 200
    assert (await client.get("/v2/", headers=world.basic("viewer", PASSWORD))).status == 200
    denied = await client.get("/v2/")
    assert denied.status == 401 and "WWW-Authenticate" in denied.headers
    assert (await client.get("/v2/", headers=world.basic("viewer", "bad"))).status == 401


async def test_unknown_route_is_a_json_404(client: TestClient) -> None:  # type: ignore[type-arg]
    response = await client.get("/no/such/page")
    assert response.status == 404
    assert (await response.json())["message"] == "Not found"


async def test_store_unreadable_beyond_the_bound_fails_closed(start_app: AppStarter) -> None:
    client = await start_app(WHARFINGER_TOKEN_MAX_STALENESS_SECONDS="1")
    world = await build_world(client)
    params = {"service": SERVICE, "scope": SCOPE}
    first = await client.get("/v2/token", params=params, headers=world.basic("viewer"))
    assert first.status == 200
    with event_log_hidden(client.app[SETTINGS]):
        await asyncio.sleep(1.6)
        response = await client.get("/v2/token", params=params, headers=world.basic("viewer"))
        assert response.status == 503
        assert response.headers["Retry-After"]
        assert "out of date" in (await response.json())["message"]
        # The REST API's answers that read the projection fail closed the same way.
        listed = await client.get("/api/v1/repositories",
                                  headers={"Portus-Auth": f"admin:{world.tokens['admin']}"})
        assert listed.status == 503 and listed.headers["Retry-After"]
        assert (await listed.json())["message"] == (await response.json())["message"]
    for _ in range(50):  # the follower recovers on its own once the store answers again
        response = await client.get("/v2/token", params=params, headers=world.basic("viewer"))
        if response.status == 200:
            break
        await asyncio.sleep(0.1)
    assert response.status == 200


@given(token=st.from_regex(r"[A-Za-z0-9_-]{1,40}(\.[A-Za-z0-9_-]{0,40}){2}", fullmatch=True),
       expires_in=st.integers(1, 10**9), issued_at=st.text(max_size=30),
       refresh=st.none() | st.text(max_size=40), scope=st.none() | st.text(max_size=40))
def test_the_token_body_is_the_json_of_its_fields(token: str, expires_in: int, issued_at: str,
                                                  refresh: str | None,
                                                  scope: str | None) -> None:
    body: dict[str, object] = {"token": token, "access_token": token, "expires_in": expires_in,
                               "issued_at": issued_at}
    if refresh is not None:
        body["refresh_token"] = refresh
    if scope is not None:
        body["scope"] = scope
    assert token_body(token, expires_in, issued_at, refresh, scope) == json.dumps(
        body, separators=(",", ":"))
