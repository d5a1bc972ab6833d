"""Who is acting: the principal every recorded event names as its actor.

The web layer sets the actor once per request from the authenticated principal; every event
recorded while handling that request carries it, without threading it through every call.
`asyncio.to_thread` and our blocking pool copy the context into worker threads.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

SYSTEM = "system"
"""The actor of changes Wharfinger makes on its own (start-up, background jobs)."""

ANONYMOUS = "anonymous"

CLI = "cli"
"""The actor of changes made with the `wharfinger` command line on the server."""

_current_actor: ContextVar[str] = ContextVar("wharfinger_actor", default=SYSTEM)


def current_actor() -> str:
    return _current_actor.get()


@contextmanager
def acting_as(actor: str) -> Iterator[None]:
    token = _current_actor.set(actor)
    try:
        yield
    finally:
        _current_actor.reset(token)
