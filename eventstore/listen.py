"""PostgreSQL LISTEN on the events table: other nodes' appends wake this node's followers.

The library NOTIFYs the table's channel in every insert transaction (eventsourcing-notes.md §1.5),
so a notification arrives right after each commit, from any node. Polling stays as the fallback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from psycopg import sql

from eventstore.location import PostgresTarget

log = logging.getLogger(__name__)


async def listen_for_appends(target: PostgresTarget, app: Application[UUID],
                             on_append: Callable[[], None]) -> None:
    channel = str(getattr(app.recorder, "channel_name", ""))
    backoff = 0.5
    while True:
        try:
            conn = await psycopg.AsyncConnection.connect(target.conninfo(), autocommit=True)
            async with conn:
                await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                backoff = 0.5
                on_append()  # anything appended while we were not listening
                async for _ in conn.notifies():
                    on_append()
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log.warning("LISTEN %s failed (%s); retrying in %.1fs", channel, e, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10.0)
