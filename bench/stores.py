"""Event stores for benchmarks: a SQLite file in a temporary directory, or a fresh PostgreSQL
schema (dropped afterwards) on the server named by WHARFINGER_BENCH_DATABASE_URL or, failing
that, WHARFINGER_TEST_DATABASE_URL (scripts/setup-test-env.sh writes it to var/test-env.sh)."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg import sql

from eventstore.location import StoreLocation, parse_postgres_url

DEFAULT_DATABASE_URL = "postgresql://root@127.0.0.1:5432/wharfinger_test"


def database_url() -> str:
    return (os.environ.get("WHARFINGER_BENCH_DATABASE_URL")
            or os.environ.get("WHARFINGER_TEST_DATABASE_URL") or DEFAULT_DATABASE_URL)


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    """A database URL with a fresh schema of its own."""
    base = database_url()
    conninfo = parse_postgres_url(base).conninfo()
    schema = f"bench_{secrets.token_hex(5)}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield f"{base}{'&' if '?' in base else '?'}schema={schema}"
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@contextlib.contextmanager
def location(backend: str) -> Iterator[StoreLocation]:
    work = Path(tempfile.mkdtemp(prefix="wharfinger-bench-"))
    try:
        if backend == "sqlite":
            yield StoreLocation(work)
        else:
            with postgres_schema() as url:
                yield StoreLocation.from_settings(work, url)
    finally:
        shutil.rmtree(work, ignore_errors=True)
