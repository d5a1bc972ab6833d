"""Group commit: many concurrent requests share one transaction of the audit trail.

A request hands its fact over and awaits the commit that contains it. While one batch is being
written in the blocking pool, newcomers queue; when it lands they all go in the next transaction.
Under load a batch holds as many facts as arrived during one commit, so the number of commits per
second stays flat while the facts per second grow. A failed write fails every request in its
batch: their callers answer 503 and send nothing (no token without a record).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from web.blocking import BlockingPool

F = TypeVar("F")
T = TypeVar("T")


class GroupCommit(Generic[F, T]):
    """`encode` turns an item into what `write` stores (on the event loop: cheap CPU); `write`
    stores a batch in one transaction (in the blocking pool). When `write` returns a list with
    one entry per item (work done beside the write, off the event loop), `record` returns the
    item's entry; otherwise None."""

    def __init__(self, pool: BlockingPool, encode: Callable[[F], T],
                 write: Callable[[Sequence[T]], object], *, max_batch: int = 256) -> None:
        self._pool = pool
        self._encode = encode
        self._write = write
        self._max_batch = max_batch
        self._pending: list[tuple[T, asyncio.Future[object]]] = []
        self._writing = False
        self._flusher: asyncio.Task[None] | None = None
        self.commits = 0
        """Transactions written so far (tests and benchmarks read it)."""

    async def record(self, item: F) -> object:
        """Return once `item` is durably recorded (with its entry of what `write` returned);
        raise what the write raised otherwise."""
        encoded = self._encode(item)
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._pending.append((encoded, future))
        if not self._writing:
            self._writing = True
            # Runs after this request yields: everything queued meanwhile joins the batch.
            self._flusher = asyncio.get_running_loop().create_task(self._flush())
        # A cancelled caller cancels only its own future; the batch goes on without it.
        return await future

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch = self._pending[:self._max_batch]
                del self._pending[:self._max_batch]
                try:
                    written = await self._pool.run(self._write, [item for item, _ in batch])
                except BaseException as e:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(e if isinstance(e, Exception)
                                                 else RuntimeError(repr(e)))
                    if not isinstance(e, Exception):
                        raise
                    continue
                self.commits += 1
                results = written if isinstance(written, list) else [None] * len(batch)
                if len(results) != len(batch):
                    # The write's bug: fail the batch's requests rather than hand an item
                    # another's entry.
                    mismatch = RuntimeError(f"the write returned {len(results)} entries for"
                                            f" {len(batch)} items")
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(mismatch)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self._writing = False
