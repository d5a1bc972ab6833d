"""Group commit: many concurrent requests share one transaction of the audit trail.

A request hands its fact over and awaits the commit that contains it. While one batch is being
written in the blocking pool, newcomers queue; when it lands they all go in the next transaction.
Under load a batch holds as many facts as arrived during one commit, so the number of commits per
second stays flat while the facts per second grow. A failed write fails every request in its
batch: their callers answer 503 and send nothing (no token without a record).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from web.blocking import BlockingPool

F = TypeVar("F")
T = TypeVar("T")


class GroupCommit(Generic[F, T]):
    """`encode` turns an item into what `write` stores (on the event loop: cheap CPU); `write`
    stores a batch in one transaction (in the blocking pool). When `write` returns a list with
    one entry per item (work done beside the write, off the event loop), `record` returns the
    item's entry; otherwise None.

    One job in the pool writes batch after batch while items keep arriving, and hands each
    batch's outcome to the event loop in one callback. A job per batch cost the loop a pool
    submission, a wrapped future and a task step per commit, and the writer the chained
    futures' callbacks, all holding the GIL the loop needs (issue 8's profile: ~6% of a token
    request's time on the loop at ~2 requests per commit)."""

    def __init__(self, pool: BlockingPool, encode: Callable[[F], T],
                 write: Callable[[Sequence[T]], object], *, max_batch: int = 256) -> None:
        self._pool = pool
        self._encode = encode
        self._write = write
        self._max_batch = max_batch
        self._lock = threading.Lock()
        """Guards `_pending` and `_writing` between the loop and the writing job."""
        self._pending: list[tuple[T, asyncio.Future[object]]] = []
        self._writing = False
        self.commits = 0
        """Transactions written so far (tests and benchmarks read it)."""

    async def record(self, item: F) -> object:
        """Return once `item` is durably recorded (with its entry of what `write` returned);
        raise what the write raised otherwise."""
        encoded = self._encode(item)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[object] = loop.create_future()
        with self._lock:
            self._pending.append((encoded, future))
            start, self._writing = not self._writing, True
        if start:
            # Starts after this request yields: everything queued meanwhile joins the batch.
            loop.call_soon(self._start, loop)
        # A cancelled caller cancels only its own future; the batch goes on without it.
        return await future

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            self._pool.submit(self._drain, loop)
        except RuntimeError as e:  # the pool is shut down: nothing will be written
            with self._lock:
                batch, self._pending, self._writing = self._pending, [], False
            self._settle(batch, False, e)

    def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        """In the pool: write what is pending, batch after batch, until nothing is."""
        while True:
            with self._lock:
                if not self._pending:
                    self._writing = False
                    return
                batch = self._pending[:self._max_batch]
                del self._pending[:self._max_batch]
            try:
                ok, outcome = True, self._write([item for item, _ in batch])
            except BaseException as e:
                ok, outcome = False, e
            # A closed loop (RuntimeError) has nobody waiting for these any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._settle, batch, ok, outcome)

    def _settle(self, batch: list[tuple[T, asyncio.Future[object]]], ok: bool,
                outcome: object) -> None:
        """On the loop: each request of `batch` gets its entry, or the batch's error."""
        if ok:
            self.commits += 1
            results = outcome if isinstance(outcome, list) else [None] * len(batch)
            if len(results) == len(batch):
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
                return
            # The write's bug: fail the batch's requests rather than hand an item another's
            # entry.
            outcome = RuntimeError(f"the write returned {len(results)} entries for"
                                   f" {len(batch)} items")
        error = (outcome if isinstance(outcome, Exception)
                 else RuntimeError(repr(outcome)))
        for _, future in batch:
            if not future.done():
                future.set_exception(error)
