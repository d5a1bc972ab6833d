"""Loading several aggregates in one read: what a batch of registry notices works on.

`Application.repository.get` reads one aggregate per call, and on PostgreSQL every call is two
round trips (the pool's pre-ping, then the query). A group commit of registry notices needs the
repositories it deletes from, the namespaces' name claims, the namespaces and the registry: issue
8's profile of PostgreSQL intake found those reads, one after another in the only writer, taking
as long as the insert itself. `load_many` reads all of them in one statement: each cached
aggregate's events after its cached version (the library's fast-forward), each other aggregate's
whole history, then projects and caches them exactly as `repository.get` does (a cached copy is
never handed out; the caller gets its own). SQLite reads are local and cheap: there it is the
library's own `get`, one aggregate after another.
Blocking: call it from a thread.
"""

from __future__ import annotations

from collections.abc import Iterable
from copy import deepcopy
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate, CanMutateAggregate
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder
from psycopg.sql import SQL, Identifier


def reads_at_once(app: Application[UUID]) -> bool:
    """Whether `load_many` reads in one statement here (else it is one `get` per aggregate,
    and a caller that reads only what it turns out to need does less by not preloading)."""
    repository = app.repository
    return (isinstance(app.recorder, PostgresAggregateRecorder)
            and repository.snapshot_store is None and repository.fastforward)


def load_many(app: Application[UUID], ids: Iterable[UUID]) -> dict[UUID, Aggregate | None]:
    """Each aggregate as `app.repository.get` returns it, or None if it has no events."""
    wanted = list(dict.fromkeys(ids))
    repository = app.repository
    recorder = app.recorder
    if not wanted or not reads_at_once(app):
        return {aggregate_id: _get(app, aggregate_id) for aggregate_id in wanted}
    assert isinstance(recorder, PostgresAggregateRecorder)
    cache = repository.cache
    cached: dict[UUID, tuple[Aggregate, int]] = {}
    if cache is not None:
        for aggregate_id in wanted:
            try:
                found = cache.get(aggregate_id)
            except KeyError:
                continue
            if isinstance(found, Aggregate):
                cached[aggregate_id] = (found, found.version)
    rows = _select_after(recorder, [(i, cached[i][1] if i in cached else 0) for i in wanted])
    loaded: dict[UUID, Aggregate | None] = {}
    for aggregate_id in wanted:
        new = rows.get(aggregate_id, [])
        if aggregate_id in cached:
            loaded[aggregate_id] = _fast_forward(app, aggregate_id, *cached[aggregate_id], new)
            continue
        aggregate = _project(app, None, new)
        if aggregate is not None and cache is not None:
            cache.put(aggregate_id, aggregate)
        # Commands change what they load: never hand out the cached instance.
        loaded[aggregate_id] = deepcopy(aggregate)
    return loaded


def _fast_forward(app: Application[UUID], aggregate_id: UUID, cached: Aggregate, version: int,
                  new: list[StoredEvent]) -> Aggregate | None:
    """The cached aggregate brought forward by `new` (its events after `version`) in place, as
    the library does, under the lock the library holds while it does it; a copy of it."""
    repository = app.repository
    assert repository.cache is not None
    lock = repository._use_fastforward_lock(aggregate_id)
    try:
        with lock:
            try:
                current = repository.cache.get(aggregate_id)
            except KeyError:
                current = None
            if current is cached and cached.version == version:
                forward = _project(app, cached, new)
                return deepcopy(forward)
    finally:
        repository._disuse_fastforward_lock(aggregate_id)
    # Evicted or brought forward by another thread meanwhile: the library's own read.
    return _get(app, aggregate_id)


def _project(app: Application[UUID], aggregate: Aggregate | None,
             rows: list[StoredEvent]) -> Aggregate | None:
    """The library's project_aggregate, without its per-event `isinstance` against a
    runtime-checkable protocol (Python 3.11 walks the protocol's attributes on every call: 2%
    of the server's CPU under registry intake); each event is still applied by its own
    `mutate`, as there."""
    to_event = app.mapper.to_domain_event
    for row in rows:
        event = to_event(row)
        assert isinstance(event, CanMutateAggregate)  # a class check: what we store
        aggregate = event.mutate(aggregate)
    return aggregate


def _get(app: Application[UUID], aggregate_id: UUID) -> Aggregate | None:
    try:
        aggregate: Aggregate = app.repository.get(aggregate_id)
    except AggregateNotFoundError:
        return None
    return aggregate


def _select_after(recorder: PostgresAggregateRecorder, after: list[tuple[UUID, int]]
                  ) -> dict[UUID, list[StoredEvent]]:
    """Every event of each originator after the given version, in version order: one query
    (the table's primary key is (originator_id, originator_version): one index range each)."""
    datastore = recorder.datastore
    # %b: binary parameters, as eventstore.pg_insert's (as text, psycopg dumps a list of UUIDs
    # in Python, a regular expression per id).
    statement = SQL(
        "SELECT e.originator_id, e.originator_version, e.topic, e.state "
        "FROM unnest(%b::{id_type}[], %b::bigint[]) AS k(id, after) "
        "JOIN {schema}.{table} AS e "
        "ON e.originator_id = k.id AND e.originator_version > k.after "
        "ORDER BY e.originator_id, e.originator_version"
    ).format(id_type=SQL(datastore.originator_id_type),  # "uuid" or "text", checked by it
             schema=Identifier(datastore.schema),
             table=Identifier(recorder.events_table_name))
    ids: list[Any] = [i if datastore.originator_id_type == "uuid" else str(i) for i, _ in after]
    found: dict[UUID, list[StoredEvent]] = {}
    with datastore.get_connection() as connection, connection.cursor() as cursor:
        cursor.execute(statement, [ids, [version for _, version in after]], prepare=True)
        for row in cursor.fetchall():
            originator = row["originator_id"]
            key = originator if isinstance(originator, UUID) else UUID(originator)
            found.setdefault(key, []).append(StoredEvent(
                originator_id=originator, originator_version=row["originator_version"],
                topic=row["topic"], state=bytes(row["state"])))
    return found
