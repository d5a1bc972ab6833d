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

import threading
from collections import deque
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import retry
from psycopg.sql import SQL, Identifier


class RecentRows:
    """The rows a recorder appended last, by position, for this node's followers.

    Every append is read back at once by the node's follower (and, for the audit trail, the
    follower of pulls): a round trip each, for rows this process has in hand (issue 8's
    profile: those reads were 5% of the server's CPU under intake). A follower after position
    P gets from here the rows at P+1, P+2, ... up to the last one appended here, when all of
    them were appended here: they are then exactly the log's rows there (positions are drawn
    under the table lock, so one append's are consecutive; a row here is committed, since the
    append returned). If any position in between was not appended here (another node's rows,
    or a gap a failed transaction left), nothing is answered and the reader reads the database.
    Rows committed by other nodes after the last one appended here are not known: a follower
    gets them when their NOTIFY wakes it, or at its next poll. Thread-safe (writers and readers
    are pool threads)."""

    def __init__(self, capacity: int = 4096) -> None:
        self._rows: dict[int, StoredEvent] = {}
        self._order: deque[int] = deque()
        self._capacity = capacity
        self._newest = 0
        self._lock = threading.Lock()

    def add(self, positions: Sequence[int], rows: Sequence[StoredEvent]) -> None:
        with self._lock:
            for position, row in zip(positions, rows, strict=True):
                self._rows[position] = row
                self._order.append(position)
                self._newest = max(self._newest, position)
            while len(self._order) > self._capacity:
                del self._rows[self._order.popleft()]

    def after(self, position: int, limit: int, topics: Sequence[str] = ()
              ) -> tuple[list[tuple[int, StoredEvent]], int] | None:
        """The rows after `position` (only `topics`' if given), up to `limit` of them, and
        the last position looked at; None unless every position from `position` + 1 to the
        last one appended here (or to the limit) was appended here."""
        found: list[tuple[int, StoredEvent]] = []
        wanted = frozenset(topics)
        with self._lock:
            rows = self._rows
            at = position + 1
            if at not in rows:
                return None
            while len(found) < limit and at <= self._newest:
                row = rows.get(at)
                if row is None:
                    return None  # a row of another node's, or a gap: the database knows
                if not wanted or row.topic in wanted:
                    found.append((at, row))
                at += 1
        return found, at - 1


class ArrayInsertRecorder(PostgresApplicationRecorder):
    """`PostgresApplicationRecorder` whose insert is one call of `wharfinger_append_<table>`."""

    def __init__(self, datastore: PostgresDatastore, *,
                 events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.recent: RecentRows | None = (
            RecentRows() if datastore.originator_id_type == "uuid" else None)
        """What this recorder appended last (eventstore.reader reads it first). Not for text
        ids: the database hands those back as str, and readers must get what it would."""
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
            positions = [row["position"] for row in cursor.fetchall()]
        if self.recent is not None:
            self.recent.add(positions, stored_events)
        return positions
