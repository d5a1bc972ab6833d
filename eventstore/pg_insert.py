"""The PostgreSQL recorder every log uses: the library's, with a one-statement insert.

The library's insert adapts each row to its composite type (`stored_event_uuid`) and sends the
array of them as text: psycopg builds every row's literal in Python (quoting, hex-escaping the
state), then escapes it again inside the array (60 rows: 2.7-3.0 ms of CPU; as four parallel
arrays in binary, 0.4 ms). Around it, a pipeline and an explicit transaction (BEGIN, SET LOCAL,
LOCK, NOTIFY, INSERT, sync, COMMIT), whose Python side was most of what was left of the insert's
CPU in issue 8's intake profile. Here one statement in autocommit mode calls a function that
does the library's steps in the library's order (lock timeout, table lock, NOTIFY, insert
returning positions), so it commits when the statement returns: one round trip, no pipeline.

Unlike the library's own stored-function insert (`POSTGRES_ENABLE_DB_FUNCTIONS`, never used
here), the function takes the table lock: positions are drawn at insert and become visible at
commit, and without the lock a later transaction could commit first and a follower that read its
rows would pass over the earlier one's for good. Same table, same rows, same positions returned,
same errors (the datastore's connection turns psycopg's into the library's).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import retry
from psycopg.sql import SQL, Identifier


class ArrayInsertRecorder(PostgresApplicationRecorder):
    """`PostgresApplicationRecorder` whose insert is one call of `wharfinger_append_<table>`."""

    def __init__(self, datastore: PostgresDatastore, *,
                 events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.append_function_name = f"wharfinger_append_{self.events_table_name}"
        self.check_identifier_length(self.append_function_name)
        names = {
            "schema": Identifier(datastore.schema),
            "table": Identifier(self.events_table_name),
            "function": Identifier(self.append_function_name),
            # "uuid" or "text", as the library checked when it made the table.
            "id_type": SQL(datastore.originator_id_type),
            "channel": Identifier(self.channel_name),
            "lock_timeout": SQL(str(int(datastore.lock_timeout))),
        }
        # Created (or replaced) with the library's tables, when the log is opened.
        self.sql_create_statements.append(SQL(
            "CREATE OR REPLACE FUNCTION {schema}.{function}("
            "ids {id_type}[], versions bigint[], topics text[], states bytea[])"
            " RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$"
            " BEGIN"
            "  SET LOCAL lock_timeout = '{lock_timeout}s';"
            "  LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE;"
            "  NOTIFY {channel};"
            "  RETURN QUERY INSERT INTO {schema}.{table}"
            "   (originator_id, originator_version, topic, state)"
            "   SELECT * FROM unnest(ids, versions, topics, states)"
            "   RETURNING notification_id;"
            " END;"
            " $BODY$").format(**names))
        # %b: binary parameters (psycopg's C dumpers for uuid, int8, text and bytea; an array
        # of them is one length-prefixed buffer, nothing to escape).
        self.append_statement = SQL(
            "SELECT position FROM {schema}.{function}("
            "%b::{id_type}[], %b::bigint[], %b::text[], %b::bytea[]) AS position").format(**names)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent],
                      **_: Any) -> Sequence[int] | None:
        # (The library's application recorder ignores its keyword arguments too: tracking
        # positions are a process recorder's.)
        if not stored_events:
            return None  # as the library's
        as_text = self.datastore.originator_id_type == "text"
        ids: list[Any] = []
        versions: list[int] = []
        topics: list[str] = []
        states: list[bytes] = []
        for event in stored_events:
            ids.append(str(event.originator_id) if as_text else event.originator_id)
            versions.append(event.originator_version)
            topics.append(event.topic)
            states.append(event.state)
        with self.datastore.get_connection() as connection, connection.cursor() as cursor:
            # Autocommit (the library's connections are): the statement is its transaction,
            # committed, fsync and all, before execute returns.
            assert connection.autocommit
            cursor.execute(self.append_statement, (ids, versions, topics, states), prepare=True)
            return [row["position"] for row in cursor.fetchall()]
