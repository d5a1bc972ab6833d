"""Following the log: keep an in-memory projection current, and let writers wait for it.

One follower per process reads new events in batches through the blocking pool and applies them on
the event loop, so readers on the loop never see a half-applied batch and need no locks. A local
write `nudge()`s it and awaits `wait_for(position)` (read-your-writes without the library's 100 ms
`wait()` floor); writes from other processes arrive by notification (PostgreSQL LISTEN) or by
polling. `is_current()` tells readers whether the projection can be trusted (fail closed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from eventstore.reader import LoggedEvent

log = logging.getLogger(__name__)

ReadAfter = Callable[[int, int], Awaitable[list[LoggedEvent]]]


CATCHING_UP = "The service is catching up with its event log; retry shortly"
OUT_OF_DATE = ("Authorization data is out of date (the event log has not been read within"
               " token.max_staleness_seconds); refusing to guess")


class ProjectionBehindError(Exception):
    """The projection is not known to be current, or did not reach a position in time:
    answer 503, never guess (web.errors turns it into one)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LogFollower:
    def __init__(
        self,
        read_after: ReadAfter,
        apply: Callable[[LoggedEvent], None],
        *,
        poll_interval: float,
        max_staleness: float,
        batch_size: int = 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read_after = read_after
        self._apply = apply
        self._poll_interval = poll_interval
        self._max_staleness = max_staleness
        self._batch_size = batch_size
        self._clock = clock
        self.position = 0
        self._last_success: float | None = None
        self._wake = asyncio.Event()
        self._advanced = asyncio.Condition()
        self._reading = asyncio.Lock()
        self.last_error: str | None = None

    def nudge(self) -> None:
        """New events may be in the log: read now rather than at the next poll."""
        self._wake.set()

    def is_current(self) -> bool:
        """True while the last successful read of the log is recent enough to trust."""
        return (self._last_success is not None
                and self._clock() - self._last_success <= self._max_staleness)

    def ensure_current(self) -> None:
        """Raise ProjectionBehindError unless `is_current()`: what every answer that reads the
        projection checks first (the token endpoint, the repository API)."""
        if not self.is_current():
            raise ProjectionBehindError(OUT_OF_DATE)

    async def catch_up(self) -> int:
        """Read and apply everything up to the head of the log; returns events applied."""
        applied = 0
        async with self._reading:
            while True:
                batch = await self._read_after(self.position, self._batch_size)
                for logged in batch:
                    self._apply(logged)
                if batch:
                    self.position = batch[-1].position
                    applied += len(batch)
                    async with self._advanced:
                        self._advanced.notify_all()
                if len(batch) < self._batch_size:
                    break
                await asyncio.sleep(0)  # let requests in between large batches
            self._last_success = self._clock()
            self.last_error = None
        return applied

    async def wait_for(self, position: int, timeout: float = 5.0) -> None:
        """Return once events up to `position` are applied (read-your-writes)."""
        if self.position >= position:
            return
        self.nudge()
        try:
            async with asyncio.timeout(timeout), self._advanced:
                await self._advanced.wait_for(lambda: self.position >= position)
        except TimeoutError:
            log.info("projection at %d, still waiting for %d", self.position, position)
            raise ProjectionBehindError(CATCHING_UP) from None

    async def run(self) -> None:
        """Follow the log until cancelled."""
        while True:
            self._wake.clear()
            try:
                await self.catch_up()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # the store is down: report, keep trying, fail closed
                self.last_error = f"{type(e).__name__}: {e}"
                log.warning("cannot read the event log: %s", self.last_error)
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation
            # that arrives as the wake event fires, and the follower then outlives shutdown.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_interval):
                    await self._wake.wait()
