"""Running the feed projector inside the service, at low priority.

The projector gets one thread of its own (never the request pool) and a duty cycle (10% by
default, `projections.activity.duty_cycle_percent`): after a batch that took t seconds it rests
t·(1/duty − 1), so under a flood of token requests (each one a decision record to project) it
takes at most that share of the process and catches up when the flood ends. The feed is
eventually consistent; the token endpoint never waits for it.

Batches are sized by time, not count: each is sized from the last one's cost per record to take
about STEP_SECONDS. Projecting holds the GIL, and the event loop waits for it whenever it comes
back from a system call during a batch, so a long batch is a token request's latency. At 1500
token requests/s (open loop, application tokens, SQLite), fixed 500-record batches gave a p99 of
8.6–12.6 ms, 100-record ones 7.5–8.1 ms, 50-record ones 6.0–6.4 ms; sized for 2 ms, 5.4–6.5 ms;
for 1 ms, 4.6–5.8 ms (three runs each, same session). A step's fixed cost (a read, a commit)
keeps the floor at MIN_BATCH records.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from projections.activity.projector import ActivityProjector
from projections.activity.store import StaleTrackingError

log = logging.getLogger(__name__)

STEP_SECONDS = 0.001
MIN_BATCH = 16


def next_batch_size(elapsed: float, records: int, *, largest: int) -> int:
    """Records for the next step, so that it takes about STEP_SECONDS at the last step's
    cost per record (between MIN_BATCH and `largest`)."""
    if records <= 0 or elapsed <= 0:
        return largest
    return max(MIN_BATCH, min(largest, int(STEP_SECONDS * records / elapsed)))


class FeedRunner:
    def __init__(self, projector: ActivityProjector, *, interval: float = 1.0,
                 duty_cycle: float = 0.10, batch_size: int = 500) -> None:
        self.projector = projector
        self._interval = interval
        self._rest_factor = 1 / duty_cycle - 1
        self._largest_batch = batch_size
        self._batch_size = batch_size
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="wharfinger-feed")
        self._wake = asyncio.Event()
        self._closed = threading.Event()
        self.last_error: str | None = None

    def nudge(self) -> None:
        self._wake.set()

    async def step(self) -> int:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, self._step)
        except StaleTrackingError:
            return 1  # another projector moved first; go again from its position

    def _step(self) -> int:
        # Checked in the projector's thread: once shut down, no batch starts, so nothing is
        # written into a store that is being closed (or a test schema being dropped).
        if self._closed.is_set():
            return 0
        return self.projector.step(self._batch_size)

    async def catch_up(self) -> None:
        """Project everything logged so far (tests, and `wharfinger project --once`)."""
        while await self.step():
            pass

    async def run(self) -> None:
        while True:
            self._wake.clear()
            started = time.monotonic()
            try:
                read = await self.step()
                self.last_error = None
            except asyncio.CancelledError:
                raise
            except Exception as e:  # the store is down: report, keep trying
                self.last_error = f"{type(e).__name__}: {e}"
                log.warning("activity feed projector: %s", self.last_error)
                read = 0
            if read:
                elapsed = time.monotonic() - started
                self._batch_size = next_batch_size(elapsed, read, largest=self._largest_batch)
                await asyncio.sleep(elapsed * self._rest_factor)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)

    def shutdown(self) -> None:
        """Blocking: let no batch start and wait for one in flight, so the stores can close
        under no one."""
        self._closed.set()
        self._executor.shutdown(wait=True, cancel_futures=True)
