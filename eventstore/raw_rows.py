"""A page of a log's stored rows as plain tuples, for the Merkle tree (sealing, `audit verify`,
bundles), which hashes every row and needs nothing else of it.

`select_notifications` builds a `Notification` and a `UUID` per row, and the tree then turns the
UUID back into text: about 40% of the CPU of sealing a row (32 µs per row at 50k rows). On a busy
node that work competes with the token endpoint for the GIL, so this reads the recorder's own
table with the recorder's own connection and the columns the library creates (eventsourcing 9.5,
as eventstore.lookup does), and returns the originator id as the text the tree hashes.
tests/eventstore/test_raw_rows.py checks every field against `select_notifications` on both
backends, so a library upgrade that changes the table shows up there. Blocking: call it from a
thread.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

RawRow = tuple[int, str, int, str, bytes]
"""Log position, originator id as `str(UUID)`, version, topic, state."""


def raw_rows_after(app: Application[UUID], after: int, limit: int) -> list[RawRow]:
    """Up to `limit` stored rows after log position `after`, in log order."""
    recorder = app.recorder
    if isinstance(recorder, SQLiteApplicationRecorder):
        with recorder.datastore.transaction(commit=False) as cursor:
            statement = ("SELECT rowid, originator_id, originator_version, topic, state"  # noqa: S608
                         f" FROM {recorder.events_table_name}"
                         " WHERE rowid > ? ORDER BY rowid LIMIT ?")
            cursor.execute(statement, (after, limit))
            return [(row[0], _dashed(row[1]), row[2], row[3], bytes(row[4]))
                    for row in cursor.fetchall()]
    if isinstance(recorder, PostgresApplicationRecorder):
        query = SQL(
            "SELECT notification_id, originator_id::text, originator_version, topic, state"
            " FROM {schema}.{table} WHERE notification_id > %s"
            " ORDER BY notification_id LIMIT %s").format(
            schema=Identifier(recorder.datastore.schema),
            table=Identifier(recorder.events_table_name))
        with (recorder.datastore.get_connection() as connection,
              connection.cursor(row_factory=tuple_row) as cursor):
            cursor.execute(query, (after, limit), prepare=True)
            return [(row[0], row[1], row[2], row[3], bytes(row[4]))
                    for row in cursor.fetchall()]
    raise TypeError(f"no raw reader for {type(recorder).__name__}")


def _dashed(stored: str) -> str:
    """SQLite keeps a UUID as its 32 hex digits; the tree hashes `str(UUID)`."""
    if len(stored) == 32:
        h = stored.lower()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return str(UUID(stored))
