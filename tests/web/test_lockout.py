"""Lockout (Portus F9): ten wrong passwords in a row lock the account on every channel for ten
minutes; failures, locks and unlocks are events; an admin unlocks. The test owns the clock."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient

from domain.users import User
from eventstore.reader import read_after
from tests.web.probes import Clock, csrf_of, token_status
from tests.web.world import PASSWORD, SERVICE, World, basic
from web.appkeys import SERVICES
from web.cli import main
from web.settings import Settings


async def post_token(client: TestClient, username: str, password: str) -> int:  # type: ignore[type-arg]
    response = await client.post("/v2/token", data={
        "grant_type": "password", "service": SERVICE, "username": username,
        "password": password, "client_id": "test"})
    await response.read()
    return response.status


async def api_status(client: TestClient, world: World, username: str) -> int:  # type: ignore[type-arg]
    response = await client.post("/api/v1/users/1/unlock",
                                 headers={"Portus-Auth": f"{username}:{world.tokens[username]}"})
    await response.read()
    return response.status


async def events_of(client: TestClient, user_id: object) -> list[str]:  # type: ignore[type-arg]
    services = client.app[SERVICES]
    logged = await services.pool.run(read_after, services.store, 0, 10_000)
    return [type(e.event).__name__ for e in logged
            if isinstance(e.event, User.Event) and e.event.originator_id == user_id
            and type(e.event).__name__ in ("PasswordRejected", "Locked", "Unlocked",
                                           "FailedAttemptsReset")]


async def test_nine_failures_then_success_resets_the_count(
        client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    client.app[SERVICES].passwords.clock = Clock()
    for _ in range(9):
        assert await token_status(client, "viewer", "wrong password") == 401
    assert await token_status(client, "viewer", PASSWORD) == 200
    for _ in range(9):
        assert await post_token(client, "viewer", "wrong password") == 401
    assert await token_status(client, "viewer", PASSWORD) == 200
    names = await events_of(client, world.user_ids["viewer"])
    assert names == ["PasswordRejected"] * 9 + ["FailedAttemptsReset"] + (
        ["PasswordRejected"] * 9 + ["FailedAttemptsReset"])


async def test_tenth_failure_locks_every_channel_until_ten_minutes_pass(
        client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    clock = Clock()
    client.app[SERVICES].passwords.clock = clock
    # Failures on two channels count together: five on GET, five on the OAuth2 POST.
    for _ in range(5):
        assert await token_status(client, "viewer", "wrong password") == 401
    for _ in range(5):
        assert await post_token(client, "viewer", "wrong password") == 401
    # Locked: the right password, an application token and the API all fail.
    response = await client.get("/v2/token", params={"service": SERVICE},
                                headers=basic("viewer", PASSWORD))
    assert response.status == 401
    assert "locked" in str((await response.json())["message"])
    assert await post_token(client, "viewer", PASSWORD) == 401
    assert await token_status(client, "viewer", world.tokens["viewer"]) == 401
    ping = await client.get("/v2/", headers=basic("viewer", PASSWORD))
    assert ping.status == 401
    # The API refuses the locked account's token (401) before asking if it is an admin (403).
    assert await api_status(client, world, "viewer") == 401
    # Other accounts are untouched.
    assert await token_status(client, "owner", PASSWORD) == 200
    # 9:59 later still locked; at 10:00 the lock has expired.
    clock.now += 599
    assert await token_status(client, "viewer", PASSWORD) == 401
    clock.now += 1
    assert await token_status(client, "viewer", PASSWORD) == 200
    names = await events_of(client, world.user_ids["viewer"])
    assert names == ["PasswordRejected"] * 10 + ["Locked", "Unlocked"]


async def test_admin_unlocks_by_api(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    client.app[SERVICES].passwords.clock = Clock()
    for _ in range(10):
        await token_status(client, "viewer", "wrong password")
    assert await token_status(client, "viewer", PASSWORD) == 401
    number = client.app[SERVICES].directory.number_of(world.user_ids["viewer"])
    # Only an admin may unlock.
    refused = await client.post(f"/api/v1/users/{number}/unlock",
                                headers={"Portus-Auth": f"owner:{world.tokens['owner']}"})
    assert refused.status == 403
    response = await client.post(f"/api/v1/users/{number}/unlock",
                                 headers={"Portus-Auth": f"admin:{world.tokens['admin']}"})
    assert response.status == 200, await response.text()
    assert await token_status(client, "viewer", PASSWORD) == 200
    missing = await client.post("/api/v1/users/9999/unlock",
                                headers={"Portus-Auth": f"admin:{world.tokens['admin']}"})
    assert missing.status == 404


async def test_lockout_settings_are_configurable(client: TestClient, world: World,
                                                 tmp_path: Path) -> None:  # type: ignore[type-arg]
    checker = client.app[SERVICES].passwords
    checker.clock = Clock()
    checker.max_attempts, checker.lock_seconds = 3, 60.0
    for _ in range(3):
        await token_status(client, "viewer", "wrong password")
    assert await token_status(client, "viewer", PASSWORD) == 401
    checker.clock.now += 60  # type: ignore[attr-defined]
    assert await token_status(client, "viewer", PASSWORD) == 200


def test_cli_unlock(settings: Settings, capsys: object) -> None:
    from domain.actors import acting_as
    from domain.application import Wharfinger
    from eventstore.open import open_log
    from web.services import EVENTS_LOG, store_location

    store = open_log(store_location(settings), Wharfinger, EVENTS_LOG)
    try:
        with acting_as("test"):
            user = store.register_user(username="dave", email="dave@example.org",
                                       password_hash="x")
            assert store.record_password_failure(user.id, channel="token", now=0.0,
                                                 max_attempts=1, lock_seconds=600)
    finally:
        store.close()
    env = {"WHARFINGER_DATA_DIR": str(settings.data_dir)}
    if settings.database_url:
        env["WHARFINGER_DATABASE_URL"] = str(settings.database_url)
    assert main(["user", "unlock", "dave"], env=env) == 0
    assert main(["user", "unlock", "nobody"], env=env) == 1
    store = open_log(store_location(settings), Wharfinger, EVENTS_LOG)
    try:
        assert store.user_named("dave").locked_until is None
    finally:
        store.close()


async def test_console_sign_in_counts_and_honours_the_lock(client: TestClient,
                                                           world: World) -> None:  # type: ignore[type-arg]
    clock = Clock()
    client.app[SERVICES].passwords.clock = clock
    csrf = await csrf_of(client, "/sign_in")

    async def sign_in(password: str) -> tuple[int, str]:
        response = await client.post("/sign_in", data={
            "username": "viewer", "password": password, "_csrf": csrf, "next": "/"},
            allow_redirects=False)
        return response.status, await response.text()

    # An application token is not a password for the console's form.
    assert (await sign_in(world.tokens["viewer"]))[0] == 401
    for _ in range(4):
        assert (await sign_in("wrong password"))[0] == 401
    for _ in range(5):  # the token endpoint's failures add up with the console's
        assert await token_status(client, "viewer", "wrong password") == 401
    status, text = await sign_in(PASSWORD)
    assert status == 401 and "locked" in text
    services = client.app[SERVICES]
    logged = await services.pool.run(read_after, services.store, 0, 10_000)
    channels = [e.event.channel for e in logged if isinstance(e.event, User.PasswordRejected)]
    assert channels == ["web"] * 5 + ["token"] * 5
    clock.now += 600
    assert (await sign_in(PASSWORD))[0] == 303


async def test_a_lock_also_closes_open_console_sessions(client: TestClient,
                                                        world: World) -> None:  # type: ignore[type-arg]
    clock = Clock()
    client.app[SERVICES].passwords.clock = clock
    signed_in = await client.post("/sign_in", allow_redirects=False, data={
        "username": "viewer", "password": PASSWORD, "_csrf": await csrf_of(client, "/sign_in"),
        "next": "/"})
    assert signed_in.status == 303

    async def profile() -> int:
        response = await client.get("/profile", allow_redirects=False)
        await response.read()
        return response.status

    assert await profile() == 200
    for _ in range(10):
        await token_status(client, "viewer", "wrong password")
    assert await profile() != 200  # sent to sign in: the open session no longer counts
    clock.now += 600
    assert await profile() == 200
