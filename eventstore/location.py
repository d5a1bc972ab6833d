"""Where the event log lives: SQLite in the data directory, or PostgreSQL from a URL.

Turns Wharfinger's two settings (`WHARFINGER_DATA_DIR`, `WHARFINGER_DATABASE_URL`) into the
eventsourcing library's environment for one application (eventsourcing-notes.md §1.4).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from psycopg.conninfo import make_conninfo

PG_RECORDER_TOPIC = "eventstore.pg_insert:ArrayInsertRecorder"
"""The recorder of every PostgreSQL log (resolved by the library when it opens one)."""


class StoreConfigError(ValueError):
    pass


@dataclass(frozen=True)
class PostgresTarget:
    host: str
    port: int
    dbname: str
    user: str
    password: str
    schema: str

    def conninfo(self) -> str:
        """A libpq connection string (psycopg quotes the values)."""
        return make_conninfo(host=self.host, port=self.port, dbname=self.dbname,
                             user=self.user, password=self.password or None, connect_timeout=5)


@dataclass(frozen=True)
class StoreLocation:
    data_dir: Path
    postgres: PostgresTarget | None = None

    @classmethod
    def from_settings(cls, data_dir: Path, database_url: str | None) -> StoreLocation:
        return cls(data_dir, parse_postgres_url(database_url) if database_url else None)

    @property
    def backend(self) -> str:
        return "postgresql" if self.postgres else "sqlite"

    def describe(self) -> str:
        if self.postgres:
            p = self.postgres
            return f"PostgreSQL {p.user}@{p.host}:{p.port}/{p.dbname} (schema {p.schema})"
        return f"SQLite {self.sqlite_path('events')}"

    def sqlite_path(self, log_name: str) -> Path:
        # The library names SQLite tables `stored_events` whatever the application, so every
        # log gets a file of its own (eventsourcing-notes.md §1.5).
        return self.data_dir / f"{log_name}.sqlite"

    def application_env(self, log_name: str) -> dict[str, str]:
        if self.postgres is None:
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(self.sqlite_path(log_name)),
                "SQLITE_LOCK_TIMEOUT": "10",
            }
        p = self.postgres
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            # The library's recorder with a cheaper insert (eventstore.pg_insert).
            "APPLICATION_RECORDER_TOPIC": PG_RECORDER_TOPIC,
            "POSTGRES_DBNAME": p.dbname,
            "POSTGRES_HOST": p.host,
            "POSTGRES_PORT": str(p.port),
            "POSTGRES_USER": p.user,
            "POSTGRES_PASSWORD": p.password,
            "POSTGRES_SCHEMA": p.schema,
            # Small pools: commands go through one bounded thread pool anyway, and several
            # nodes share one server (eventsourcing-notes.md §4.2).
            "POSTGRES_POOL_SIZE": "2",
            "POSTGRES_MAX_OVERFLOW": "6",
            "POSTGRES_CONNECT_TIMEOUT": "5",
            "POSTGRES_LOCK_TIMEOUT": "10",
            "POSTGRES_MAX_WAITING": "64",
            "POSTGRES_PRE_PING": "y",
            # Never the stored-function insert: it loses events for followers (§0, §4.5).
            "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
        }


def parse_postgres_url(url: str) -> PostgresTarget:
    """`postgresql://user:password@host:port/dbname?schema=name` (schema defaults to public)."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise StoreConfigError(
            f"WHARFINGER_DATABASE_URL must start with postgresql://, got {parts.scheme!r}")
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname:
        raise StoreConfigError("WHARFINGER_DATABASE_URL names no database (postgresql://…/NAME)")
    query = parse_qs(parts.query)
    unknown = set(query) - {"schema"}
    if unknown:
        raise StoreConfigError(
            f"WHARFINGER_DATABASE_URL has unknown parameters: {', '.join(sorted(unknown))}"
            " (only schema= is understood)")
    schema = query.get("schema", ["public"])[0]
    try:
        port = parts.port or 5432
    except ValueError as e:
        raise StoreConfigError(f"WHARFINGER_DATABASE_URL has a bad port: {e}") from None
    return PostgresTarget(
        host=parts.hostname or "127.0.0.1",
        port=port,
        dbname=dbname,
        user=unquote(parts.username or "postgres"),
        password=unquote(parts.password or ""),
        schema=schema,
    )
