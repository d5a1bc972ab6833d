"""One fact of a log by its id, with its place in the log: a key lookup, not a scan.

A fact is a one-event sequence (domain.facts), so its id is the originator id of version 1, and
the library's primary key (originator_id, originator_version) finds it in one index probe. The
library has no query that also returns the event's notification id (its log position), which an
answer needs (an inclusion proof is by position), so this reads the recorder's own table with
the recorder's own table name and connection, the columns the library creates (eventsourcing
9.5: `sqlite.SQLiteApplicationRecorder`, `postgres.PostgresApplicationRecorder`).
tests/eventstore/test_lookup.py checks that a lookup returns exactly what `select_notifications`
returns for the same event, on both backends, so a library upgrade that changes the table shows
up there. Blocking: call it from a thread.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.sql import SQL, Identifier


def find_fact(app: Application[UUID], fact_id: UUID) -> Notification | None:
    """The stored fact `fact_id` (version 1) with its log position, or None."""
    recorder = app.recorder
    if isinstance(recorder, SQLiteApplicationRecorder):
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(
                f"SELECT rowid, topic, state FROM {recorder.events_table_name}"  # noqa: S608
                " WHERE originator_id = ? AND originator_version = 1", (fact_id.hex,))
            row = cursor.fetchone()
        if row is None:
            return None
        return Notification(id=row[0], originator_id=fact_id, originator_version=1,
                            topic=row[1], state=bytes(row[2]))
    if isinstance(recorder, PostgresApplicationRecorder):
        statement = SQL("SELECT notification_id, topic, state FROM {schema}.{table}"
                        " WHERE originator_id = %s AND originator_version = 1").format(
            schema=Identifier(recorder.datastore.schema),
            table=Identifier(recorder.events_table_name))
        with recorder.datastore.get_connection() as connection, connection.cursor() as cursor:
            cursor.execute(statement, (fact_id,))
            found = cursor.fetchone()
        if found is None:
            return None
        return Notification(id=found["notification_id"], originator_id=fact_id,
                            originator_version=1, topic=found["topic"],
                            state=bytes(found["state"]))
    raise TypeError(f"no fact lookup for {type(recorder).__name__}")
