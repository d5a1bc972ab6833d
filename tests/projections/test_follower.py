"""The log follower keeps the permission projection current, on both backends."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from domain.application import Wharfinger
from eventstore.location import StoreLocation
from eventstore.open import open_log
from eventstore.reader import LoggedEvent, read_after
from projections.follower import LogFollower, ProjectionBehindError
from projections.permissions import PermissionIndex


@pytest.fixture
def store(location: StoreLocation) -> Iterator[Wharfinger]:
    app = open_log(location, Wharfinger, "events")
    yield app
    app.close()


def follower_for(store: Wharfinger, index: PermissionIndex, **kw: float) -> LogFollower:
    async def read(position: int, limit: int) -> list[LoggedEvent]:
        return await asyncio.to_thread(read_after, store, position, limit)

    return LogFollower(read, index.apply, poll_interval=kw.get("poll_interval", 0.05),
                       max_staleness=kw.get("max_staleness", 5.0), batch_size=7)


async def test_catch_up_in_batches_equals_a_fresh_fold(store: Wharfinger) -> None:
    for i in range(10):
        store.register_user(username=f"user{i}", email=f"u{i}@example.org", password_hash=None)
    store.register_registry(name="main", hostname="registry.test")
    index = PermissionIndex()
    follower = follower_for(store, index)
    applied = await follower.catch_up()
    fresh = PermissionIndex()
    for logged in read_after(store, 0, 10_000):
        fresh.apply(logged)
    assert applied == fresh.position == index.position == follower.position
    assert index == fresh
    assert follower.is_current()


async def test_wait_for_returns_when_the_write_is_applied(store: Wharfinger) -> None:
    index = PermissionIndex()
    follower = follower_for(store, index, poll_interval=60)  # only nudges wake it
    task = asyncio.create_task(follower.run())
    try:
        user, position = await asyncio.to_thread(store.run_command, lambda: store.register_user(
            username="alice", email="a@example.org", password_hash=None))
        assert position > 0
        await asyncio.wait_for(follower.wait_for(position), 5)
        assert index.user_named("alice") is not None
        assert index.users[user.id].username == "alice"
    finally:
        task.cancel()


async def test_wait_for_times_out_with_a_clear_error(store: Wharfinger) -> None:
    follower = follower_for(store, PermissionIndex())
    with pytest.raises(ProjectionBehindError):
        await follower.wait_for(10, timeout=0.2)


async def test_writes_from_another_process_arrive_by_polling(
        store: Wharfinger, location: StoreLocation) -> None:
    index = PermissionIndex()
    follower = follower_for(store, index, poll_interval=0.05)
    task = asyncio.create_task(follower.run())
    other = open_log(location, Wharfinger, "events")  # a second node on the same store
    try:
        await asyncio.to_thread(other.register_user, username="bob", email="b@example.org",
                                password_hash=None)
        for _ in range(100):
            if index.user_named("bob"):
                break
            await asyncio.sleep(0.02)
        assert index.user_named("bob") is not None
    finally:
        task.cancel()
        other.close()


async def test_is_current_goes_false_when_the_store_cannot_be_read() -> None:
    now = [100.0]

    async def broken(position: int, limit: int) -> list[LoggedEvent]:
        raise ConnectionError("store down")

    async def working(position: int, limit: int) -> list[LoggedEvent]:
        return []

    follower = LogFollower(working, PermissionIndex().apply, poll_interval=0.01,
                           max_staleness=5, clock=lambda: now[0])
    assert not follower.is_current()  # never read: cannot know
    await follower.catch_up()
    assert follower.is_current()
    follower._read_after = broken
    task = asyncio.create_task(follower.run())
    await asyncio.sleep(0.05)
    now[0] += 6
    assert not follower.is_current()
    assert follower.last_error and "store down" in follower.last_error
    task.cancel()
