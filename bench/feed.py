"""The activity feed over a generated history: rebuild rate, and page latency.

On a generated history (bench/history.py) of 100k events by default, not the target's 1M and 10M:
the feed rebuilds at a few thousand events/s here, so 1M would take most of the 15-minute budget
per backend (call `bench.feed.main(events=...)` for bigger histories).

Rebuild: `projections.activity.projector.rebuild` of the change log (and the empty audit log)
into fresh tables, against raw read+decode of the same events. Page: `ActivityStore.page` as
`GET /api/v1/activities` calls it, for a user who is not an admin (the visibility filter in SQL),
on the first page, on cursors deep in the history and with a namespace filter; the baseline is
an admin's first page (no visibility filter), the floor.
"""

from __future__ import annotations

import asyncio
import random
import time

from bench.common import Row, median, row
from bench.history import World, write_history
from bench.rebuild import raw_read
from bench.rebuild import rebuild as rebuild_index
from bench.stores import location
from domain.application import Wharfinger
from domain.audit_trail import AuditTrail
from eventstore.location import StoreLocation
from eventstore.open import open_log
from projections.activity.entries import AUDIT_LOG, CHANGE_LOG
from projections.activity.projector import rebuild
from projections.activity.store import Query, open_activity_store
from projections.activity.visibility import audience_of, viewer_of
from projections.permissions import PermissionIndex


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def timed_ms(fn: object) -> float:
    started = time.perf_counter()
    fn()  # type: ignore[operator]
    return (time.perf_counter() - started) * 1000


def main(events: int = 100_000, backends: tuple[str, ...] = ("sqlite", "postgresql"),
         pages: int = 60) -> list[Row]:
    rows: list[Row] = []
    for backend in backends:
        with location(backend) as where:
            app = open_log(where, Wharfinger, "events")
            try:
                write_history(app, World.of_size(events))
                started = time.perf_counter()
                count = raw_read(app)
                raw_rate = count / (time.perf_counter() - started)
                _, index = asyncio.run(rebuild_index(app))
                rows.extend(measure(where, app, index, raw_rate, backend, pages))
            finally:
                app.close()
    return rows


def measure(where: StoreLocation, app: Wharfinger, index: PermissionIndex, raw_rate: float,
            backend: str, pages: int) -> list[Row]:
    audit = open_log(where, AuditTrail, "audit")
    store = open_activity_store(where)
    try:
        started = time.perf_counter()
        summary = rebuild(store, {CHANGE_LOG: app, AUDIT_LOG: audit}, batch_size=1000)
        rate = summary.events / (time.perf_counter() - started)
        rows = [row("feed rebuild", f"activity feed, {summary.events:,} events, {backend}",
                    value=rate, unit="events/s", baseline=raw_rate,
                    baseline_name="raw read+decode", target="ratio >= 0.5",
                    entries=summary.entries)]
        admin = next(u for u in index.users.values() if u.admin)
        someone = next(u for u in index.users.values() if not u.admin and any(
            u.id in t.members for t in index.teams.values()))
        everything = audience_of(viewer_of(index, admin.id))
        theirs = audience_of(viewer_of(index, someone.id))
        newest = store.page(Query(limit=1), everything)[0].occurred_us
        oldest = store.page(Query(limit=1, since_us=0, until_us=newest), everything)
        low = min(e.occurred_us for e in oldest) if oldest else 0
        names = sorted(ns.name for ns in index.namespaces.values())
        rnd = random.Random(5)
        floor, subject = [], []
        for i in range(pages):
            floor.append(timed_ms(lambda: store.page(Query(), everything)))
            kind = i % 3
            if kind == 0:
                query = Query()
            elif kind == 1:
                query = Query(before=(rnd.randint(low, newest), CHANGE_LOG, 2**62))
            else:
                query = Query(namespace=rnd.choice(names))
            subject.append(timed_ms(lambda q=query: store.page(q, theirs)))  # type: ignore[misc]
        rows.append(row("feed page", f"50 entries, a non-admin's view, {summary.entries:,}"
                        f" entries, {backend} (p99 of {pages})", value=percentile(subject, 0.99),
                        unit="ms", better="lower", baseline=percentile(floor, 0.99),
                        baseline_name="admin's first page (p99)", target="p99 <= 50 ms",
                        p50_ms=round(median(subject), 2)))
        return rows
    finally:
        store.close()
        audit.close()
