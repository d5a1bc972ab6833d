"""The activity feed: rebuild rate over real events, and page latency at 1M and 10M entries.

Rebuild (`main`): `projections.activity.projector.rebuild` of a generated history
(bench/history.py: real aggregates and events) into fresh tables, against raw read+decode of the
same events, then page latency on the feed it built.

Pages at the target's sizes (`pages`, part of `make bench`; `python -m bench.feed --entries
1000000,10000000`): generating 10M events through the domain would take hours, so the feed's
tables are **bulk-loaded** with realistic entries (bench/feed_entries.py: the mix of a busy
installation, mostly token decisions and pulls, each with its sentence, parameters and audience
keys, for 100k users in 10k teams owning 50k namespaces, a third of them public), made by the
database itself as the store's write path would store them and indexed by the store as a rebuild
indexes them. One feed per backend is loaded to 1M entries, measured, grown to 10M and measured
again. Then `ActivityStore.page` as `GET /api/v1/activities` calls it: for a member of two teams
(the visibility rule) and for an admin (everything), each on the first page, on cursors deep in
the history and with a namespace filter; the baseline is the admin's first page, the floor.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from pathlib import Path

from bench.common import Row, median, print_table, row, write_json
from bench.feed_entries import START_US, Population, bulk_load
from bench.history import World, write_history
from bench.rebuild import raw_read
from bench.rebuild import rebuild as rebuild_index
from bench.stores import location
from domain.application import Wharfinger
from domain.audit_trail import AuditTrail
from eventstore.location import StoreLocation
from eventstore.open import open_log
from eventstore.reader import read_after
from projections.activity.entries import AUDIT_LOG, CHANGE_LOG, micros
from projections.activity.projector import rebuild
from projections.activity.store import ActivityStore, Query, open_activity_store
from projections.activity.visibility import (
    EVERYTHING,
    Audience,
    audience_for,
    audience_of,
)
from projections.permissions import PermissionIndex


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def timed_ms(fn: object) -> float:
    started = time.perf_counter()
    fn()  # type: ignore[operator]
    return (time.perf_counter() - started) * 1000


def main(events: int = 100_000, backends: tuple[str, ...] = ("sqlite", "postgresql"),
         pages: int = 60, runs: int = 3) -> list[Row]:
    rows: list[Row] = []
    for backend in backends:
        with location(backend) as where:
            app = open_log(where, Wharfinger, "events")
            try:
                write_history(app, World.of_size(events))
                _, index = asyncio.run(rebuild_index(app))
                rows.extend(measure(where, app, index, backend, pages, runs))
            finally:
                app.close()
    return rows


def measure(where: StoreLocation, app: Wharfinger, index: PermissionIndex, backend: str,
            pages: int, runs: int) -> list[Row]:
    audit = open_log(where, AuditTrail, "audit")
    store = open_activity_store(where)
    try:
        raw_rates, rates = [], []
        for _ in range(runs):  # alternating with the baseline: the machine's load drifts
            started = time.perf_counter()
            count = raw_read(app)
            raw_rates.append(count / (time.perf_counter() - started))
            started = time.perf_counter()
            summary = rebuild(store, {CHANGE_LOG: app, AUDIT_LOG: audit}, batch_size=1000)
            rates.append(summary.events / (time.perf_counter() - started))
        rows = [row("feed rebuild", f"activity feed, {summary.events:,} events, {backend}",
                    value=median(rates), unit="events/s", baseline=median(raw_rates),
                    baseline_name="raw read+decode", target="ratio >= 0.5",
                    entries=summary.entries, runs=runs)]
        admin = next(u for u in index.users.values() if u.admin)
        someone = next(u for u in index.users.values() if not u.admin and any(
            u.id in t.members for t in index.teams.values()))
        first = read_after(app, 0, 1)[0].event.timestamp
        rows.extend(measure_pages(
            store, audience_for(index, admin.id),
            audience_for(index, someone.id), micros(first),
            sorted(ns.name for ns in index.namespaces.values()), pages,
            f"{summary.entries:,} entries (rebuilt), {backend}"))
        return rows
    finally:
        store.close()
        audit.close()


WARM_UP = 15
"""Pages read first and not timed: a serving feed has its newest index pages in memory, a
freshly loaded one has whatever the load left there."""


def measure_pages(store: ActivityStore, admin: Audience, member: Audience, low: int,
                  names: list[str], pages: int, label: str) -> list[Row]:
    """p99 of `pages` pages of 50 for a member of some teams and for an admin, each cycling
    through the first page, a cursor at a random time and a random namespace's entries; the
    baseline is the admin's first page."""
    newest = store.page(Query(limit=1), EVERYTHING)[0].occurred_us
    rnd = random.Random(5)
    floor: list[float] = []
    subjects: dict[str, list[float]] = {"a non-admin's view": [], "an admin's view": []}
    for i in range(-WARM_UP, pages):
        floor_ms = timed_ms(lambda: store.page(Query(), admin))
        kind = i % 3
        if kind == 0:
            query = Query()
        elif kind == 1:
            query = Query(before=(rnd.randint(low, newest), CHANGE_LOG, 2**62))
        else:
            query = Query(namespace=rnd.choice(names))
        for (_, times), audience in zip(subjects.items(), (member, admin), strict=True):
            took = timed_ms(lambda q=query, a=audience: store.page(q, a))  # type: ignore[misc]
            if i >= 0:
                times.append(took)
        if i >= 0:
            floor.append(floor_ms)
    return [row("feed page", f"50 entries, {who}, {label} (p99 of {pages}: first pages, deep"
                " cursors, namespace filters)", value=percentile(times, 0.99), unit="ms",
                better="lower", baseline=percentile(floor, 0.99),
                baseline_name="admin's first page (p99)", target="p99 <= 50 ms",
                p50_ms=round(median(times), 2), max_ms=round(max(times), 2))
            for who, times in subjects.items()]


# -- pages at 1M and 10M entries, bulk-loaded -------------------------------------------------

SIZES = (1_000_000, 10_000_000)


def pages(sizes: tuple[int, ...] = SIZES, backends: tuple[str, ...] = ("sqlite", "postgresql"),
          count: int = 60) -> list[Row]:
    """Per backend, one feed grown through `sizes` (bench/feed_entries.py: loaded by the
    database, indexed by the store), pages measured at each size."""
    rows: list[Row] = []
    people = Population()
    names = [f"ns{n}" for n in range(people.namespaces)]
    for backend in backends:
        with location(backend) as where:
            loaded = 0
            for size in sorted(sizes):
                took = bulk_load(where, loaded, size, people)
                loaded = size
                store = open_activity_store(where)
                try:
                    measured = measure_pages(store, EVERYTHING, audience_of(people.viewer()),
                                             START_US, names, count,
                                             f"{size:,} entries (bulk-loaded), {backend}")
                finally:
                    store.close()
                for measured_row in measured:
                    measured_row.update(took)
                rows.extend(measured)
    return rows


def cli() -> None:
    parser = argparse.ArgumentParser(description="Activity feed benchmarks (see the docstring).")
    parser.add_argument("--entries", default=",".join(map(str, SIZES)),
                        help="comma-separated sizes: bulk-load a feed of the first, measure"
                             " pages, grow it to the next, ... (0: skip)")
    parser.add_argument("--events", type=int, default=0,
                        help="also rebuild the feed from a history of this many real events")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--json", type=Path, help="write the rows (with p50 and max) here")
    args = parser.parse_args()
    backends = tuple(args.backends.split(","))
    rows = main(args.events, backends, args.pages) if args.events else []
    sizes = tuple(int(n) for n in args.entries.split(",") if int(n))
    if sizes:
        rows.extend(pages(sizes, backends, args.pages))
    print_table(rows)
    for each in rows:
        extras = {k: v for k, v in each.items() if k in ("p50_ms", "max_ms", "load_s", "index_s")}
        if extras:
            print(each["case"], extras)
    if args.json:
        write_json(args.json, rows)


if __name__ == "__main__":
    cli()
