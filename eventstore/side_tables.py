"""Side tables beside the event log: derived data (fold checkpoints, Merkle nodes, signed
checkpoints) that can always be recomputed from the log and so never holds a fact of its own.

SQLite: a file of its own (`integrity.sqlite` in the data directory), so the event store's
connection never waits on it. PostgreSQL: tables prefixed `wharfinger_` in the log's schema.
Statements are written with `?` placeholders; PostgreSQL gets them as `%s`. Blocking.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import psycopg

from eventstore.location import StoreLocation
from eventstore.open import schema_lock_key

SQLITE_FILE = "integrity.sqlite"


class Cursor(Protocol):
    def execute(self, query: str, params: Sequence[Any] = ()) -> Any: ...
    def executemany(self, query: str, params: Sequence[Sequence[Any]]) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class SideTables:
    """One interface over both backends: `transaction()` yields a cursor taking `?` params.

    On PostgreSQL each connection is a server process: a running node (`keep_connections`)
    keeps a few idle ones for its background rounds (fold checkpoints, Merkle nodes, the jti
    index) instead of starting a process per transaction, and `close()` ends them. One-shot
    users (CLI commands, tests) keep none and need no `close()`."""

    def __init__(self, location: StoreLocation, *, keep_connections: int = 0) -> None:
        self.location = location
        self.backend = location.backend
        self.prefix = "wharfinger_"
        self._keep = keep_connections
        self._idle: list[psycopg.Connection[Any]] = []
        self._idle_lock = threading.Lock()
        self._closed = False

    def table(self, name: str) -> str:
        if self.location.postgres is None:
            return name
        return f'"{self.location.postgres.schema}"."{self.prefix}{name}"'

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Cursor]:
        if self.location.postgres is None:
            self.location.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            conn = sqlite3.connect(self.location.data_dir / SQLITE_FILE, timeout=10,
                                   isolation_level=None)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn.cursor()
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            finally:
                conn.close()
            return
        if not self._keep:
            with psycopg.connect(self.location.postgres.conninfo()) as pg, pg.cursor() as cur:
                yield _PgCursor(cur)
            return
        connection = self._take()
        try:
            with connection.cursor() as cur:
                yield _PgCursor(cur)
            connection.commit()
        except BaseException:
            if not connection.broken:
                with contextlib.suppress(psycopg.Error):
                    connection.rollback()
            if connection.broken or connection.closed:
                connection.close()
            else:
                self._give_back(connection)
            raise
        self._give_back(connection)

    def _take(self) -> psycopg.Connection[Any]:
        assert self.location.postgres is not None
        with self._idle_lock:
            while self._idle:
                connection = self._idle.pop()
                if not (connection.closed or connection.broken):
                    return connection
        return psycopg.connect(self.location.postgres.conninfo())

    def _give_back(self, connection: psycopg.Connection[Any]) -> None:
        with self._idle_lock:
            if not self._closed and len(self._idle) < self._keep:
                self._idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        """End the idle connections (a stopping node); later transactions connect anew."""
        with self._idle_lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def create(self, ddl: Sequence[str]) -> None:
        """Run `CREATE TABLE IF NOT EXISTS …` statements; `{t:name}` becomes a table name and
        `BLOB` becomes `bytea` on PostgreSQL."""
        with self.transaction() as cur:
            if self.location.postgres is not None:
                # Nodes starting at once would race in CREATE TABLE IF NOT EXISTS (open.py).
                cur.execute("SELECT pg_advisory_xact_lock(?)",
                            (schema_lock_key(self.location.postgres.schema),))
            for statement in ddl:
                text = self.render(statement)
                if self.location.postgres is not None:
                    text = text.replace("BLOB", "bytea").replace("INTEGER", "bigint")
                cur.execute(text)

    def insert_rows(self, cur: Cursor, table: str, columns: Sequence[str],
                    rows: Sequence[Sequence[Any]], *, pg_types: Sequence[str]) -> None:
        """Insert `rows` into side table `table`. PostgreSQL gets one statement over an array
        per column (`pg_types`: each column's type): psycopg's `executemany` adapts and sends
        every row through its Python pipeline, 90% of the CPU of sealing Merkle leaves."""
        if not rows:
            return
        names = ", ".join(columns)
        if self.location.postgres is None:
            marks = ", ".join("?" * len(columns))
            cur.executemany(f"INSERT INTO {self.table(table)} ({names}) VALUES ({marks})",  # noqa: S608
                            rows)
            return
        arrays = ", ".join(f"%b::{kind}[]" for kind in pg_types)  # binary: no escaping
        cur.execute(f"INSERT INTO {self.table(table)} ({names})"  # noqa: S608
                    f" SELECT * FROM unnest({arrays})", [list(c) for c in zip(*rows, strict=True)])

    def render(self, statement: str) -> str:
        out = statement
        while "{t:" in out:
            start = out.index("{t:")
            end = out.index("}", start)
            out = out[:start] + self.table(out[start + 3:end]) + out[end + 1:]
        return out


class _PgCursor:
    def __init__(self, cur: psycopg.Cursor[Any]) -> None:
        self._cur = cur

    def execute(self, query: str, params: Sequence[Any] = ()) -> Any:
        return self._cur.execute(query.replace("?", "%s"), params)

    def executemany(self, query: str, params: Sequence[Sequence[Any]]) -> Any:
        return self._cur.executemany(query.replace("?", "%s"), params)

    def fetchone(self) -> Any:
        return self._cur.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cur.fetchall()
