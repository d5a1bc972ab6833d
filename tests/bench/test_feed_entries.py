"""The feed's page benchmark reads the table production reads: entries the database bulk-loads
(bench.feed_entries.bulk_load) are the rows the store's own write path stores for the same
entries, keys included, and page identically for an admin and for a member of some teams."""

from __future__ import annotations

import contextlib
from collections import Counter
from pathlib import Path

from bench.feed_entries import (
    MIX,
    Population,
    bulk_load,
    realistic_entries,
    realistic_entry,
    secondary_indexes,
)
from bench.stores import postgres_schema
from eventstore.location import StoreLocation
from projections.activity.entries import AUDIT_LOG, CHANGE_LOG, Entry
from projections.activity.store import ActivityStore, Query, open_activity_store
from projections.activity.visibility import EVERYTHING, audience_of, can_see

PEOPLE = Population(users=50, teams=4, namespaces=12)
"""Small enough that the viewer's teams own many of the entries' namespaces."""


def rows(store: ActivityStore) -> list[tuple[object, ...]]:
    with store._connect() as conn:  # the stored columns, audience keys included
        return [tuple(r) for r in conn.execute(
            "SELECT * FROM activity_entries ORDER BY log, position").fetchall()]


def indexes(store: ActivityStore, where: StoreLocation) -> dict[str, str]:
    """The feed table's secondary indexes as the catalog defines them, schema left out."""
    with store._connect() as conn:
        found = secondary_indexes(conn, postgres=where.postgres is not None)
    schema = f"{where.postgres.schema}." if where.postgres else ""
    return {name: definition.replace(schema, "") for name, definition in found.items()}


def all_pages(store: ActivityStore, query: Query, audience: object) -> list[Entry]:
    """Every page of `query`, following the cursor to the end."""
    seen: list[Entry] = []
    while True:
        page = store.page(query, audience)  # type: ignore[arg-type]
        seen.extend(page)
        if len(page) < query.limit:
            return seen
        last = page[-1]
        query = Query(namespace=query.namespace, limit=query.limit,
                      before=(last.occurred_us, last.log, last.position))


def test_bulk_loaded_rows_are_the_write_paths_rows_and_page_the_same(
        tmp_path: Path, database_url: str | None) -> None:
    count, grown = 1500, 2500
    bulk_where = StoreLocation.from_settings(tmp_path / "bulk", database_url)
    with contextlib.ExitStack() as stack:
        # Two stores in one schema would be one table: PostgreSQL's second gets a schema too.
        other = None if database_url is None else stack.enter_context(postgres_schema())
        written_where = StoreLocation.from_settings(tmp_path / "written", other)
        # Step 1: load in two steps (the benchmark's 1M, then grown to 10M), chunks of 700.
        bulk_load(bulk_where, 0, count, PEOPLE, chunk=700)
        bulk_load(bulk_where, count, grown, PEOPLE, chunk=700)
        bulk = stack.enter_context(contextlib.closing(open_activity_store(bulk_where)))
        written = stack.enter_context(contextlib.closing(open_activity_store(written_where)))
        # Step 2: the same entries through the store's write path, as the projector writes.
        written.drop()
        written.create()
        entries = list(realistic_entries(0, grown, PEOPLE))
        for log in (CHANGE_LOG, AUDIT_LOG):
            mine = [e for e in entries if e.log == log]
            written.write(log, mine, after=0, upto=mine[-1].position,
                          public=PEOPLE.public_namespaces() if log == CHANGE_LOG else None)
        assert rows(bulk) == rows(written)
        assert indexes(bulk, bulk_where) == indexes(written, written_where)
        assert len(indexes(bulk, bulk_where)) >= 8
        assert len(rows(bulk)) == grown
        assert bulk.public_namespaces() == written.public_namespaces()
        assert bulk.dump() == written.dump() == sorted(entries, key=lambda e: (e.log,
                                                                               e.position))
        # Step 3: the pages the benchmark reads are the same, and follow the visibility rule.
        viewer = PEOPLE.viewer()
        member = audience_of(viewer)
        for query in (Query(), Query(namespace="ns1"), Query(namespace="ns3")):
            for audience in (EVERYTHING, member):
                assert all_pages(bulk, query, audience) == all_pages(written, query, audience)
        public = {f"ns{n}" for n in range(PEOPLE.namespaces) if PEOPLE.public(n)}
        shown = all_pages(bulk, Query(), member)
        expected = [e for e in sorted(entries, key=lambda e: (e.occurred_us, e.log, e.position),
                                      reverse=True)
                    if can_see(viewer, e) or (e.trackable == "repository"
                                              and e.namespace_name in public)
                    or (e.type == "namespace.change_visibility"
                        and e.namespace_name in public)]
        assert shown == expected
        assert 0 < len(shown) < grown


KIND_OF_TYPE = {"token.issue": "token.issue", "repository.pull": "repository.pull",
                "repository.push": "repository.push", "team.change_member_role": "team",
                "user.login_failed": "user.login_failed",
                "namespace.change_visibility": "namespace", "user.change_password": "user",
                "configuration.change": "registry", "event.Gadget.Made": "other"}


def test_the_entries_have_the_mix_of_a_busy_installation() -> None:
    """Every choice is a hash of the entry's number: the shares must still be MIX's."""
    entries = [realistic_entry(i) for i in range(20_000)]
    kinds = Counter(KIND_OF_TYPE[e.type] for e in entries)
    for kind, share in MIX:
        assert abs(kinds[kind] / 200 - share) < 1.5, (kind, kinds)
    assert len({e.actor for e in entries}) > 15_000  # of 100k users
    assert len({e.repository for e in entries} - {""}) > 6_000
