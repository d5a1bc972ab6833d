"""Appending a batch of encoded rows to a log in one transaction: the group commit's write.

On SQLite the library inserts row by row inside BEGIN ... COMMIT, and every statement hands the
GIL back and forth between the writer thread and the busy event loop; the writer waits up to a
switch interval for each hand-back (issue 8's profile: a 15-row commit took 6 ms, 1 ms alone).
A batch of up to ROWS_PER_STATEMENT rows is one multi-row INSERT in autocommit mode instead: one
statement, atomic and durable when it returns (the commit and its fsync happen inside the one
call that runs without the GIL). Larger batches take one explicit transaction. The rows, table
and connection are the library's own, so readers see no difference. PostgreSQL keeps the
library's insert (it locks the table and notifies followers, which the log's order relies on).
Blocking: call it from a thread.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder

ROWS_PER_STATEMENT = 200
"""Rows per INSERT: 800 parameters, well under SQLite's limit on bound variables."""


def append_rows(app: Application[UUID], rows: Sequence[StoredEvent]) -> int:
    """Store `rows` in one transaction; the log position of the last one (0 if none)."""
    if not rows:
        return 0
    recorder = app.recorder
    if isinstance(recorder, SQLiteApplicationRecorder):
        return _sqlite_append(recorder, rows)
    ids = recorder.insert_events(list(rows))
    return ids[-1] if ids else 0


def _sqlite_append(recorder: SQLiteApplicationRecorder, rows: Sequence[StoredEvent]) -> int:
    table = recorder.events_table_name
    if len(rows) <= ROWS_PER_STATEMENT:
        # The library's connections are in autocommit mode (it sends BEGIN itself).
        with recorder.datastore.get_connection(commit=True) as connection:
            cursor = connection.cursor()
            cursor.execute(_insert_statement(table, len(rows)), _params(rows))
            return int(cursor.lastrowid)
    with recorder.datastore.transaction(commit=True) as cursor:
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            chunk = rows[start:start + ROWS_PER_STATEMENT]
            cursor.execute(_insert_statement(table, len(chunk)), _params(chunk))
        # The rowid is the log position (the recorder's notification id); a multi-row INSERT
        # leaves the last row's.
        return int(cursor.lastrowid)


def _params(rows: Sequence[StoredEvent]) -> list[object]:
    params: list[object] = []
    for row in rows:
        originator = row.originator_id
        params += (originator.hex if isinstance(originator, UUID) else originator,
                   row.originator_version, row.topic, row.state)
    return params


@functools.lru_cache(maxsize=ROWS_PER_STATEMENT)
def _insert_statement(table: str, rows: int) -> str:
    # The table name is the recorder's own, never input.
    return f"INSERT INTO {table} VALUES " + ",".join(["(?,?,?,?)"] * rows)  # noqa: S608
