"""The activity feed's tables, in the same store as the logs (SQLite file or PostgreSQL schema).

Rows and the log positions they reflect are written in one transaction, and the position only
moves forward from the value the writer read, so two projectors racing, a crash mid-batch or a
replay never apply an event twice (style.md example 5). Pages are keyset-paginated on
(occurred_us, log, position), which an index serves directly however long the feed grows.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg_pool import ConnectionPool

from eventstore.location import StoreLocation
from eventstore.open import schema_lock_key
from projections.activity.entries import AUDIT_LOG, CHANGE_LOG, COLUMNS, Entry

LOGS = (CHANGE_LOG, AUDIT_LOG)

_TEXT_COLUMNS = [c for c in COLUMNS if c not in ("position", "occurred_us")]
_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS activity_entries ("
    + ", ".join(f"{c} BIGINT NOT NULL" if c in ("position", "occurred_us")
                else f"{c} TEXT NOT NULL" for c in COLUMNS)
    + ", PRIMARY KEY (log, position))",
    "CREATE TABLE IF NOT EXISTS activity_tracking (log TEXT PRIMARY KEY, position BIGINT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS activity_by_time ON activity_entries (occurred_us, log, position)",
    *(f"CREATE INDEX IF NOT EXISTS activity_by_{c} ON activity_entries ({c}, occurred_us)"
      for c in ("actor", "type", "team_id", "namespace_name", "repository", "owner_id")),
]


_SELECTED = ", ".join(COLUMNS)
_INSERT = (f"INSERT INTO activity_entries ({_SELECTED})"  # noqa: S608 - constant column names
           f" VALUES ({', '.join('?' * len(COLUMNS))})")
_DUMP = f"SELECT {_SELECTED} FROM activity_entries ORDER BY log, position"  # noqa: S608


class StaleTrackingError(Exception):
    """Another projector moved the feed first; reload the positions and go on from there."""


@dataclass(frozen=True)
class Query:
    actor: str | None = None
    team_id: str | None = None
    namespace: str | None = None
    repository: str | None = None
    types: tuple[str, ...] = ()
    """Exact keys (`team.add_member`) or families (`team`)."""
    since_us: int | None = None
    until_us: int | None = None
    before: tuple[int, str, int] | None = None
    """The cursor: entries strictly older than (occurred_us, log, position)."""
    limit: int = 50


class _Connection(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any: ...


class ActivityStore:
    """One interface, two backends (SQLite and PostgreSQL); blocking, call it from the pool."""

    placeholder = "?"

    def _connect(self, *, write: bool = False) -> contextlib.AbstractContextManager[Any]:
        raise NotImplementedError

    def _sql(self, text: str) -> str:
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)

    def close(self) -> None:
        pass

    def _lock_for_ddl(self, conn: Any) -> None:
        """Serialise table creation with other nodes starting at the same time."""

    def create(self) -> None:
        with self._connect(write=True) as conn:
            self._lock_for_ddl(conn)
            for statement in _SCHEMA:
                conn.execute(statement)
            for log in LOGS:
                conn.execute(self._sql("INSERT INTO activity_tracking (log, position) VALUES (?, 0)"
                                       " ON CONFLICT (log) DO NOTHING"), (log,))

    def drop(self) -> None:
        with self._connect(write=True) as conn:
            self._lock_for_ddl(conn)
            conn.execute("DROP TABLE IF EXISTS activity_entries")
            conn.execute("DROP TABLE IF EXISTS activity_tracking")

    def positions(self) -> dict[str, int]:
        with self._connect() as conn:
            rows = conn.execute("SELECT log, position FROM activity_tracking").fetchall()
        return {str(log): int(position) for log, position in rows}

    def write(self, log: str, entries: Sequence[Entry], *, after: int, upto: int) -> None:
        """Add `entries` and move `log`'s position from `after` to `upto`, atomically."""
        insert = self._sql(_INSERT)
        with self._connect(write=True) as conn:
            moved = conn.execute(self._sql(
                "UPDATE activity_tracking SET position = ? WHERE log = ? AND position = ?"),
                (upto, log, after))
            if moved.rowcount != 1:
                raise StaleTrackingError(f"the feed's position in {log} is no longer {after}")
            if entries:
                self._insert_many(conn, insert, [e.row() for e in entries])

    def _insert_many(self, conn: Any, sql: str, rows: list[tuple[Any, ...]]) -> None:
        conn.executemany(sql, rows)

    def page(self, query: Query, visibility: tuple[str, list[object]]) -> list[Entry]:
        where, params = [visibility[0]], list(visibility[1])
        for column, value in (("actor", query.actor), ("team_id", query.team_id),
                              ("namespace_name", query.namespace),
                              ("repository", query.repository)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if query.types:
            alternatives = []
            for kind in query.types:
                if "." in kind:
                    alternatives.append("type = ?")
                    params.append(kind)
                else:
                    alternatives.append("(type >= ? AND type < ?)")
                    params.extend([f"{kind}.", f"{kind}/"])  # '/' sorts right after '.'
            where.append("(" + " OR ".join(alternatives) + ")")
        if query.since_us is not None:
            where.append("occurred_us >= ?")
            params.append(query.since_us)
        if query.until_us is not None:
            where.append("occurred_us < ?")
            params.append(query.until_us)
        if query.before is not None:
            where.append("(occurred_us, log, position) < (?, ?, ?)")
            params.extend(query.before)
        # Only constant column names and `?` placeholders are spliced in; values are parameters.
        sql = (f"SELECT {_SELECTED} FROM activity_entries WHERE {' AND '.join(where)}"  # noqa: S608
               " ORDER BY occurred_us DESC, log DESC, position DESC LIMIT ?")
        params.append(query.limit)
        with self._connect() as conn:
            rows = conn.execute(self._sql(sql), params).fetchall()
        return [Entry.from_row(tuple(row)) for row in rows]

    def dump(self) -> list[Entry]:
        """Every entry in log order (for comparing a rebuilt feed with the live one)."""
        with self._connect() as conn:
            rows = conn.execute(_DUMP).fetchall()
        return [Entry.from_row(tuple(row)) for row in rows]

    def count(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("SELECT count(*) FROM activity_entries").fetchone()[0])


class SQLiteActivityStore(ActivityStore):
    def __init__(self, path: str) -> None:
        self.path = path

    @contextlib.contextmanager
    def _connect(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()


class PostgresActivityStore(ActivityStore):
    placeholder = "%s"

    def __init__(self, conninfo: str, schema: str) -> None:
        self._pool = ConnectionPool(conninfo, min_size=1, max_size=4, open=True, timeout=10)
        self._schema = schema

    def _lock_for_ddl(self, conn: Any) -> None:
        # The lock every log and side table takes while creating tables in this schema
        # (eventstore.open): concurrent CREATE ... IF NOT EXISTS collide otherwise.
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (schema_lock_key(self._schema),))

    @contextlib.contextmanager
    def _connect(self, *, write: bool = False) -> Iterator[psycopg.Connection[Any]]:
        with self._pool.connection() as conn, conn.transaction():
            yield conn

    def _insert_many(self, conn: Any, sql: str, rows: list[tuple[Any, ...]]) -> None:
        with conn.cursor() as cursor:
            cursor.executemany(sql, rows)

    def close(self) -> None:
        self._pool.close()


def open_activity_store(location: StoreLocation) -> ActivityStore:
    """The feed's store beside the logs, its tables created if missing. Blocking."""
    store: ActivityStore
    if location.postgres is None:
        location.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        store = SQLiteActivityStore(str(location.sqlite_path("activity")))
    else:
        target = location.postgres
        store = PostgresActivityStore(make_conninfo(
            target.conninfo(), options=f"-c search_path={target.schema}"), target.schema)
    try:
        store.create()
    except BaseException:
        store.close()
        raise
    return store
