"""Opening the event log: create what is missing (schema, tables, guards) and hand back the app.

Blocking: call it from the thread pool, never on the event loop.
"""

from __future__ import annotations

import hashlib
import sqlite3
from typing import TypeVar
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.persistence import PersistenceError
from psycopg import sql

from eventstore.location import StoreLocation

A = TypeVar("A", bound="Application[UUID]")

OPEN_ERRORS: tuple[type[Exception], ...] = (OSError, sqlite3.Error, psycopg.Error,
                                            PersistenceError)
"""What opening a store raises when it cannot be opened: the data directory or a database file
(OSError, sqlite3), PostgreSQL unreachable or refusing (psycopg), or either as the event
sourcing library wraps it (PersistenceError)."""


def open_error_text(location: StoreLocation, what: str, error: Exception,
                    log_name: str | None = None) -> str:
    """One line for a store that cannot be opened: what, where (on SQLite, the log's own file
    when `log_name` is given), and the first line of why."""
    where = location.describe()
    if log_name is not None and location.postgres is None:
        where = f"SQLite {location.sqlite_path(log_name)}"
    detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return f"cannot open {what} ({where}): {detail}"


def open_log(location: StoreLocation, application_class: type[A], log_name: str) -> A:
    """Construct `application_class` over the log named `log_name`, creating its storage."""
    if location.postgres is None:
        location.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        app = application_class(env=location.application_env(log_name))
        _forbid_rewrites(location, app)
        return app
    _ensure_schema(location)
    # Nodes starting at once on a fresh schema race in the library's CREATE TABLE IF NOT EXISTS
    # (a duplicate pg_type row) and in CREATE OR REPLACE TRIGGER: one opens at a time.
    with psycopg.connect(location.postgres.conninfo(), autocommit=True) as conn:
        # One lock per schema, not per log: creating two logs' tables at once also collides
        # ("tuple concurrently updated" on the schema's catalog rows).
        key = schema_lock_key(location.postgres.schema)
        conn.execute("SELECT pg_advisory_lock(%s)", (key,))
        try:
            app = application_class(env=location.application_env(log_name))
            _forbid_rewrites(location, app)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
    return app


def schema_lock_key(schema: str) -> int:
    """The PostgreSQL advisory lock held while creating tables in `schema`."""
    digest = hashlib.blake2b(f"wharfinger-open:{schema}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


def _ensure_schema(location: StoreLocation) -> None:
    # The library never creates a schema itself (setup-notes.md, PostgreSQL).
    assert location.postgres is not None
    with psycopg.connect(location.postgres.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
            sql.Identifier(location.postgres.schema)))


def events_table(app: Application[UUID]) -> str:
    return str(getattr(app.recorder, "events_table_name", "stored_events"))


def _forbid_rewrites(location: StoreLocation, app: Application[UUID]) -> None:
    """Events are facts: the store itself refuses UPDATE and DELETE (and TRUNCATE) of them."""
    table = events_table(app)
    if location.postgres is None:
        dbname = app.env.get("SQLITE_DBNAME", "")
        with sqlite3.connect(dbname) as conn:
            for op in ("UPDATE", "DELETE"):
                conn.execute(
                    f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table}"
                    f" BEGIN SELECT RAISE(ABORT, 'events are immutable'); END")
        return
    schema = location.postgres.schema
    fn = sql.Identifier(schema, "wharfinger_refuse_rewrite")
    with psycopg.connect(location.postgres.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL(
            "CREATE OR REPLACE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " RAISE EXCEPTION 'events are immutable: % refused on %', TG_OP, TG_TABLE_NAME;"
            " END $$").format(fn=fn))
        for name, timing in (("no_rewrite", "BEFORE UPDATE OR DELETE ON {t} FOR EACH ROW"),
                             ("no_truncate", "BEFORE TRUNCATE ON {t} FOR EACH STATEMENT")):
            trigger = sql.Identifier(f"{table}_{name}")
            target = sql.Identifier(schema, table)
            # OR REPLACE: several nodes may start at once.
            conn.execute(sql.SQL("CREATE OR REPLACE TRIGGER {tr} " + timing
                                 + " EXECUTE FUNCTION {fn}()")
                         .format(tr=trigger, t=target, fn=fn))
