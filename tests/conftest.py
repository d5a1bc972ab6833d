"""Shared fixtures: every storage-touching test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from eventstore.location import StoreLocation, parse_postgres_url
from web.settings import Settings, load_settings

DEFAULT_TEST_DATABASE_URL = "postgresql://root@127.0.0.1:5432/wharfinger_test"
TEST_ISSUER = "wharfinger.test"


def test_database_url() -> str:
    """Set by `make test` (scripts/setup-test-env.sh); PostgreSQL must be there, never skipped."""
    return os.environ.get("WHARFINGER_TEST_DATABASE_URL", DEFAULT_TEST_DATABASE_URL)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str) -> Iterator[str | None]:
    """None for SQLite; for PostgreSQL a URL with a fresh schema, dropped afterwards."""
    if backend == "sqlite":
        yield None
        return
    base = test_database_url()
    target = parse_postgres_url(base)
    schema = f"t_{secrets.token_hex(6)}"
    conninfo = target.conninfo()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}schema={schema}"
    finally:
        _drop_schema(conninfo, schema)


def _drop_schema(conninfo: str, schema: str) -> None:
    """Drop a test's schema even if something of the test still holds locks in it.

    A server fixture torn down after this one (or a projector thread still finishing a batch)
    would otherwise make DROP SCHEMA wait or deadlock; such leftovers are ended first.
    """
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for _ in range(3):
            try:
                conn.execute("SET lock_timeout = '3s'")
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
                return
            except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected):
                conn.execute(
                    "SELECT pg_terminate_backend(l.pid) FROM pg_locks l"
                    " JOIN pg_class c ON c.oid = l.relation"
                    " JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE n.nspname = %s AND l.pid <> pg_backend_pid()", (schema,))
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def make_settings(data_dir: Path, database_url: str | None, **overrides: str) -> Settings:
    env = {"WHARFINGER_DATA_DIR": str(data_dir), "WHARFINGER_MACHINE_FQDN_VALUE": TEST_ISSUER}
    if database_url:
        env["WHARFINGER_DATABASE_URL"] = database_url
    env.update(overrides)
    return load_settings(env)


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    return make_settings(tmp_path / "data", database_url)


@pytest.fixture
def location(settings: Settings) -> StoreLocation:
    return StoreLocation.from_settings(settings.data_dir, settings.database_url)
