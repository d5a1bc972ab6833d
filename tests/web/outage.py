"""A real store outage for one node: its event log made unreadable behind the service's back."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator

import psycopg

from eventstore.location import StoreLocation
from web.settings import Settings

HIDDEN = "events_hidden"


def _rename_events_table(location: StoreLocation, old: str, new: str) -> None:
    if location.postgres is None:
        with sqlite3.connect(location.sqlite_path("events")) as conn:
            conn.execute(f"ALTER TABLE {old} RENAME TO {new}")
        return
    schema = location.postgres.schema
    with psycopg.connect(location.postgres.conninfo(), autocommit=True) as pg:
        pg.execute(f'ALTER TABLE "{schema}".{old} RENAME TO {new}')  # type: ignore[arg-type]


@contextlib.contextmanager
def event_log_hidden(settings: Settings) -> Iterator[None]:
    """Every read of the node's event log fails until the block ends; then it is back as it was."""
    location = StoreLocation.from_settings(settings.data_dir, settings.database_url)
    table = "stored_events" if location.postgres is None else "wharfinger_events"
    _rename_events_table(location, table, HIDDEN)
    try:
        yield
    finally:
        _rename_events_table(location, HIDDEN, table)
