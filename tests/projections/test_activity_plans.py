"""Feed pages on PostgreSQL are planned for their own values, never from a prepared statement.

psycopg prepares a query server-side once it has run 5 times, and PostgreSQL may then plan it
once for any parameters. How selective a page's filter is depends on its values: the generic plan
of a non-admin's namespace filter walked the time index, 30 ms a page at 10M entries against
1.2 ms planned for its values (docs/benchmarks.md, 2026-12-07)."""

from __future__ import annotations

import contextlib

import pytest

from eventstore.location import StoreLocation
from projections.activity.store import PostgresActivityStore, Query, open_activity_store
from projections.activity.visibility import EVERYTHING, Viewer, audience_of


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_repeated_pages_leave_no_prepared_statement(location: StoreLocation) -> None:
    store = open_activity_store(location)
    try:
        assert isinstance(store, PostgresActivityStore)
        member = audience_of(Viewer("00000000-0000-0001-0000-000000000001",
                                    team_ids=frozenset({"00000000-0000-0002-0000-000000000001"})))
        for n in range(12):  # past psycopg's threshold (5) and PostgreSQL's custom plans (5)
            for audience in (member, EVERYTHING):
                assert store.page(Query(namespace=f"ns{n}"), audience) == []
                assert store.page(Query(), audience) == []
        with contextlib.ExitStack() as stack:
            # Every connection of the pool (each page may have used any of them).
            connections = [stack.enter_context(store._pool.connection())
                           for _ in range(store._pool.max_size)]
            prepared = [conn.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()
                        for conn in connections]
        assert prepared == [(0,)] * len(connections)
    finally:
        store.close()
