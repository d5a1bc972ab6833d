"""Shared fixtures: every storage-touching test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import hypothesis
import psycopg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from psycopg import sql

from domain.audit_trail import AuditTrail
from eventstore.location import StoreLocation, parse_postgres_url
from eventstore.open import open_log
from web.app import create_app
from web.settings import Settings, load_settings

# Hypothesis's per-example deadline and its "too slow" check are timing assertions: on a loaded
# machine they fail tests whose logic is fine. Speed is measured by bench/, never by tests.
hypothesis.settings.register_profile(
    "wharfinger", deadline=None, suppress_health_check=[hypothesis.HealthCheck.too_slow])
hypothesis.settings.load_profile("wharfinger")

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
    """Drop a test's schema; whatever used it has stopped by now (see `start_app`).

    A session still holding a lock in the schema is a leak: the drop fails naming it after a
    bounded wait, rather than hanging the run or ending the session behind the test's back.
    """
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SET lock_timeout = '10s'")
        try:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        except psycopg.errors.LockNotAvailable as error:
            holders = conn.execute(
                "SELECT DISTINCT a.pid, a.state, a.query FROM pg_locks l"
                " JOIN pg_class c ON c.oid = l.relation"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE n.nspname = %s AND l.pid <> pg_backend_pid()", (schema,)).fetchall()
            raise AssertionError(f"schema {schema} is still in use by {holders}") from error


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


@pytest.fixture
def audit(location: StoreLocation) -> Iterator[AuditTrail]:
    """The audit trail (the second log: decision records, pulls) at the test's store."""
    app = open_log(location, AuditTrail, "audit")
    yield app
    app.close()


class AppStarter:
    """Starts Wharfinger apps for one test, each behind a test client; see `start_app`."""

    def __init__(self, data_root: Path, database_url: str | None) -> None:
        self._data_root = data_root
        self._database_url = database_url
        self._started = 0
        self._running = contextlib.AsyncExitStack()

    async def __call__(self, settings: Settings | None = None,
                       **overrides: str) -> TestClient:  # type: ignore[type-arg]
        """Start an app on `settings`, or on the test's store with these settings keys set
        (and a data directory of its own)."""
        if settings is None:
            data_dir = self._data_root / f"app{self._started + 1}"
            settings = make_settings(data_dir, self._database_url, **overrides)
        elif overrides:
            raise TypeError("pass settings or overrides, not both")
        self._started += 1
        client = TestClient(TestServer(create_app(settings)))
        self._running.push_async_callback(client.close)
        await client.start_server()
        return client

    async def stop_all(self) -> None:
        """Stop every app, the last started first."""
        await self._running.aclose()


@pytest.fixture
async def start_app(tmp_path: Path, database_url: str | None) -> AsyncIterator[AppStarter]:
    """The one owner of app lifetimes in tests.

    Every app started here is stopped (its tasks, pool and stores closed) when this fixture is
    torn down. It depends on `database_url`, and pytest tears a fixture down before the ones it
    depends on, so the apps are gone before the schema is dropped, whatever order a test or
    fixture names its arguments in.
    """
    starter = AppStarter(tmp_path, database_url)
    try:
        yield starter
    finally:
        await starter.stop_all()
