"""The verified-credential cache: hits without argon2, and every way an entry must die."""

from __future__ import annotations

from uuid import uuid4

import pytest
from aiohttp.test_utils import TestClient

from domain.users import User
from eventstore.reader import LoggedEvent
from tests.web.probes import Clock, token_status
from tests.web.world import PASSWORD, World
from web import passwords
from web.appkeys import SERVICES
from web.credential_cache import VerifiedCredentials
from web.passwords import hash_password


def test_hit_needs_same_user_password_stamp_and_time() -> None:
    clock = Clock(100.0)
    cache = VerifiedCredentials(30, clock)
    alice, bob = uuid4(), uuid4()
    cache.remember(alice, "secret password", ("h1", 0))
    assert cache.hit(alice, "secret password", ("h1", 0))
    assert not cache.hit(alice, "secret passwore", ("h1", 0))
    assert not cache.hit(bob, "secret password", ("h1", 0))
    assert not cache.hit(alice, "secret password", ("h2", 1))  # changed credential
    cache.remember(alice, "secret password", ("h1", 0))
    clock.now += 30
    assert not cache.hit(alice, "secret password", ("h1", 0))  # expired


def test_the_cache_never_holds_the_password() -> None:
    cache = VerifiedCredentials(30)
    cache.remember(uuid4(), "hunter2 hunter2", "stamp")
    assert b"hunter2" not in repr(cache._entries).encode()
    # Keys are per process: two caches never agree on a digest.
    other = VerifiedCredentials(30)
    user = uuid4()
    assert cache._digest(user, "x") != other._digest(user, "x")


@pytest.mark.parametrize("event_class", [User.PasswordChanged, User.Disabled, User.Locked,
                                         User.DirectoryLinked, User.PasswordRehashed])
def test_events_forget_the_user(event_class: type[User.Event]) -> None:
    cache = VerifiedCredentials(30)
    alice, bob = uuid4(), uuid4()
    cache.remember(alice, "pw one two", "s")
    cache.remember(bob, "pw one two", "s")
    fields = {"PasswordChanged": {"password_hash": "h"}, "Locked": {"until": 1.0},
              "DirectoryLinked": {"dn": "uid=a"}, "PasswordRehashed": {"password_hash": "h"}}
    event = event_class(originator_id=alice, originator_version=2,  # type: ignore[call-arg]
                        timestamp=User.Event.create_timestamp(), actor="t",
                        **fields.get(event_class.__name__, {}))
    cache.apply(LoggedEvent(1, event))
    assert not cache.hit(alice, "pw one two", "s")
    assert cache.hit(bob, "pw one two", "s")


@pytest.fixture
def argon2_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The passwords the app verifies with argon2 (the real check, counted)."""
    calls: list[str] = []
    real = passwords.verify_and_update

    def counting(stored: str | None, password: str) -> tuple[bool, str | None]:
        calls.append(password)
        return real(stored, password)

    monkeypatch.setattr("web.password_check.verify_and_update", counting)
    return calls


async def test_repeated_password_auth_skips_argon2(client: TestClient, world: World,  # type: ignore[type-arg]
                                                   argon2_checks: list[str]) -> None:
    calls = argon2_checks
    for _ in range(5):
        assert await token_status(client, "viewer", PASSWORD) == 200
    assert len(calls) == 1
    # A wrong password is never served from the cache.
    assert await token_status(client, "viewer", PASSWORD + "x") == 401
    assert len(calls) == 2


async def test_password_change_disable_and_lock_end_cached_credentials(
        client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    services = client.app[SERVICES]
    store = services.store
    for name in ("viewer", "owner", "contributor"):
        assert await token_status(client, name, PASSWORD) == 200
    # Password change: the old password stops working at once.
    new_hash = hash_password("a brand new password")
    viewer = world.user_ids["viewer"]
    await services.execute(lambda: store.change_password(viewer, new_hash))
    assert await token_status(client, "viewer", PASSWORD) == 401
    assert await token_status(client, "viewer", "a brand new password") == 200
    # Disable.
    owner = world.user_ids["owner"]
    await services.execute(lambda: store.disable_user(owner))
    assert await token_status(client, "owner", PASSWORD) == 401
    # Lock.
    contributor = world.user_ids["contributor"]
    await services.execute(lambda: store.record_password_failure(
        contributor, channel="test", now=services.passwords.clock(), max_attempts=1,
        lock_seconds=600))
    assert await token_status(client, "contributor", PASSWORD) == 401


async def test_login_rehashes_a_hash_made_with_other_parameters(
        client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    from argon2 import PasswordHasher

    services = client.app[SERVICES]
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    viewer = world.user_ids["viewer"]
    await services.execute(lambda: services.store.change_password(viewer, weak))
    version = services.index.users[viewer].credentials_version
    assert await token_status(client, "viewer", PASSWORD) == 200
    rehashed = services.index.users[viewer].password_hash
    assert rehashed is not None and rehashed != weak
    params = f"m={passwords.MEMORY_COST_KIB},t={passwords.TIME_COST},p={passwords.PARALLELISM}"
    assert params in rehashed
    # A rehash is not a new credential: refresh tokens and sessions survive it.
    assert services.index.users[viewer].credentials_version == version
    assert await token_status(client, "viewer", PASSWORD) == 200


def test_size_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("web.credential_cache.MAX_ENTRIES", 3)
    clock = Clock(100.0)
    cache = VerifiedCredentials(30, clock)
    users = [uuid4() for _ in range(5)]
    for user in users:
        cache.remember(user, "pw", "s")
        assert len(cache) <= 3
    assert cache.hit(users[-1], "pw", "s")
    cache.forget(users[-1])
    assert not cache.hit(users[-1], "pw", "s")


async def test_concurrent_requests_share_one_argon2_check(
        client: TestClient, world: World, argon2_checks: list[str]) -> None:  # type: ignore[type-arg]
    import asyncio

    calls = argon2_checks
    statuses = await asyncio.gather(*(token_status(client, "viewer", PASSWORD) for _ in range(8)))
    assert statuses == [200] * 8
    assert len(calls) == 1
