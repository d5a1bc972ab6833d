"""The one bounded thread pool for blocking work: the event store, psycopg, ldap3, argon2.

Nothing blocking runs on the event loop (design principle 3). The caller's context (the acting
principal) is copied into the worker thread, which bare `run_in_executor` would not do.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class BlockingPool:
    def __init__(self, max_workers: int = 8, name: str = "blocking") -> None:
        self._executor = ThreadPoolExecutor(max_workers, thread_name_prefix=f"wharfinger-{name}")

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        context = contextvars.copy_context()
        call = functools.partial(context.run, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Start `fn` in the pool without waiting for it (with the caller's context); for work
        that reports back by itself (web.group_commit)."""
        context = contextvars.copy_context()
        return self._executor.submit(functools.partial(context.run, fn, *args, **kwargs))

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
