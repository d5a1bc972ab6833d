"""Group commit (web.group_commit): concurrent requests share transactions, each gets its own
entry back, a failed write fails only its batch, and nothing is left waiting."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator, Sequence

import pytest

from web.blocking import BlockingPool
from web.group_commit import GroupCommit


@pytest.fixture
def pool() -> Iterator[BlockingPool]:
    pool = BlockingPool(max_workers=2, name="test-writer")
    yield pool
    pool.shutdown()


class Store:
    """A write that takes a little time, records its batches and never runs twice at once."""

    def __init__(self, seconds: float = 0.002) -> None:
        self.batches: list[list[int]] = []
        self.seconds = seconds
        self.fail_on: set[int] = set()
        self.short: set[int] = set()
        self._busy = threading.Lock()

    def write(self, items: Sequence[int]) -> list[str]:
        assert self._busy.acquire(blocking=False), "two writes at once"
        try:
            time.sleep(self.seconds)
            if self.fail_on & set(items):
                raise OSError("disk full")
            self.batches.append(list(items))
            entries = [f"entry {i}" for i in items]
            return entries[:-1] if self.short & set(items) else entries
        finally:
            self._busy.release()


async def test_concurrent_requests_share_commits_and_get_their_own_entries(
        pool: BlockingPool) -> None:
    store = Store()
    commit: GroupCommit[int, int] = GroupCommit(pool, lambda i: i, store.write, max_batch=16)
    # Step 1: 200 requests at once, then 50 more while those are being written
    first = [asyncio.ensure_future(commit.record(i)) for i in range(200)]
    await asyncio.sleep(0.001)
    later = [asyncio.ensure_future(commit.record(i)) for i in range(200, 250)]
    results = await asyncio.gather(*first, *later)
    # Step 2: each got its own entry; every item written once, in order, in batches <= 16
    assert results == [f"entry {i}" for i in range(250)]
    written = [i for batch in store.batches for i in batch]
    assert written == list(range(250))
    assert all(len(batch) <= 16 for batch in store.batches)
    assert commit.commits == len(store.batches) < 250
    # Step 3: idle, then one more: a new job writes it
    await asyncio.sleep(0.01)
    assert await asyncio.wait_for(commit.record(999), 5) == "entry 999"


async def test_a_failed_write_fails_its_batch_only(pool: BlockingPool) -> None:
    store = Store(seconds=0.01)
    commit: GroupCommit[int, int] = GroupCommit(pool, lambda i: i, store.write, max_batch=4)
    store.fail_on = {2}
    store.short = {6}
    outcomes = await asyncio.gather(*(commit.record(i) for i in range(12)),
                                    return_exceptions=True)
    failed = [i for i, o in enumerate(outcomes) if isinstance(o, Exception)]
    # The batch holding 2 failed with the write's error; the one holding 6 got too few
    # entries and failed rather than hand anyone another's; the rest were recorded.
    assert [i for i in failed if isinstance(outcomes[i], OSError)] == [0, 1, 2, 3]
    assert [i for i in failed if isinstance(outcomes[i], RuntimeError)] == [4, 5, 6, 7]
    assert outcomes[8:] == [f"entry {i}" for i in range(8, 12)]
    # And the next request is written as usual
    assert await asyncio.wait_for(commit.record(20), 5) == "entry 20"


async def test_a_cancelled_request_leaves_the_others_recorded(pool: BlockingPool) -> None:
    store = Store(seconds=0.02)
    commit: GroupCommit[int, int] = GroupCommit(pool, lambda i: i, store.write)
    tasks = [asyncio.ensure_future(commit.record(i)) for i in range(5)]
    await asyncio.sleep(0.005)
    tasks[2].cancel()
    done = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(done[2], asyncio.CancelledError)
    assert [d for i, d in enumerate(done) if i != 2] == [f"entry {i}" for i in (0, 1, 3, 4)]
    assert [i for batch in store.batches for i in batch] == list(range(5))  # it was written


async def test_after_the_pool_is_shut_down_a_request_fails_instead_of_waiting() -> None:
    pool = BlockingPool(max_workers=1, name="test-closed")
    commit: GroupCommit[int, int] = GroupCommit(pool, lambda i: i, Store().write)
    assert await commit.record(1) == "entry 1"
    pool.shutdown()
    with pytest.raises(RuntimeError):
        await asyncio.wait_for(commit.record(2), 5)
    with pytest.raises(RuntimeError):
        await asyncio.wait_for(commit.record(3), 5)
