"""The activity feed: rebuild rate over real events, and page latency at 1M and 10M entries.

Rebuild (`main`): `projections.activity.projector.rebuild` of a generated history
(bench/history.py: real aggregates and events) into fresh tables, against raw read+decode of the
same events, then page latency on the feed it built.

Pages at the target's sizes (`pages`, `python -m bench.feed --entries 10000000`): generating 10M
events through the domain would take hours, so the feed's tables are **bulk-loaded** with
realistic entries (`realistic_entries`: the mix of a busy installation, mostly token decisions
and pulls, each with its sentence, parameters and audience keys, for 100k users in 10k teams
owning 50k namespaces, a third of them public), written through the store's own write path and
indexed as a rebuild indexes them. Then `ActivityStore.page` as `GET /api/v1/activities` calls
it: for a member of two teams (the visibility rule) and for an admin (everything), each on the
first page, on cursors deep in the history and with a namespace filter; the baseline is the
admin's first page, the floor.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from bench.common import Row, median, print_table, row, write_json
from bench.history import World, write_history
from bench.rebuild import raw_read
from bench.rebuild import rebuild as rebuild_index
from bench.stores import location
from domain.application import Wharfinger
from domain.audit_trail import AuditTrail
from eventstore.location import StoreLocation
from eventstore.open import open_log
from eventstore.reader import read_after
from projections.activity.entries import AUDIT_LOG, CHANGE_LOG, Entry, micros
from projections.activity.projector import rebuild
from projections.activity.store import ActivityStore, Query, open_activity_store
from projections.activity.visibility import (
    EVERYTHING,
    Audience,
    Viewer,
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

@dataclass(frozen=True)
class Population:
    """Who the bulk-loaded entries are about: a busy installation's people and namespaces."""

    users: int = 100_000
    teams: int = 10_000
    namespaces: int = 50_000

    @staticmethod
    def id_of(kind: int, n: int) -> str:
        return str(UUID(int=(kind << 64) | n))

    def team_of_user(self, user: int) -> int:
        return user % self.teams

    def team_of_namespace(self, namespace: int) -> int:
        return namespace % self.teams

    def public(self, namespace: int) -> bool:
        return namespace % 3 == 0

    def viewer(self) -> Viewer:
        """A user in two teams (their own and team 1), who owns those teams' namespaces."""
        user = self.teams  # in team 0 by team_of_user, and made a member of team 1 as well
        teams = {0, 1}
        owned = [n for t in teams for n in range(t, self.namespaces, self.teams)]
        return Viewer(self.id_of(USER, user), team_ids=frozenset(self.id_of(TEAM, t)
                                                                 for t in teams),
                      namespace_ids=frozenset(self.id_of(NAMESPACE, n) for n in owned),
                      namespace_names=frozenset(f"ns{n}" for n in owned))


USER, TEAM, NAMESPACE = 1, 2, 3
MIX = (("token.issue", 50), ("repository.pull", 25), ("repository.push", 8), ("team", 5),
       ("user.login_failed", 5), ("namespace", 3), ("user", 2), ("registry", 1), ("other", 1))
"""Kinds of entries and their share in percent: token decisions and pulls (the audit trail's
high-volume facts) dominate, as they do on a registry in use."""


def realistic_entries(count: int, people: Population, seed: int = 10,
                      start_us: int = 1_767_225_600_000_000) -> Iterator[Entry]:
    """`count` entries in time order (one every 50 ms), as the projector describes them."""
    rnd = random.Random(seed)
    kinds = [kind for kind, share in MIX for _ in range(share)]
    positions = {CHANGE_LOG: 0, AUDIT_LOG: 0}
    for i in range(count):
        kind = kinds[rnd.randrange(100)]
        user = rnd.randrange(people.users)
        name, user_id = f"user{user}", people.id_of(USER, user)
        namespace = rnd.randrange(people.namespaces)
        ns_name, ns_id = f"ns{namespace}", people.id_of(NAMESPACE, namespace)
        team = people.team_of_namespace(namespace)
        team_name, team_id = f"team{team}", people.id_of(TEAM, team)
        repository = f"{ns_name}/app{rnd.randrange(5)}"
        fields: dict[str, object]
        if kind == "token.issue":
            scope = f"repository:{repository}:pull"
            fields = {"trackable": "token", "item": f"{i:x}", "owner_id": user_id,
                      "recipient": name, "sentence": f"{name} was issued a token for"
                      f" registry.example.org:5000 from 10.1.{i % 250}.{user % 250} granting"
                      f" {scope}", "parameters": {
                          "service": "registry.example.org:5000", "credential": "app_token",
                          "requested": [scope], "granted": [scope],
                          "reasons": {scope: {"pull": "team viewer"}}, "jti": f"{i:x}",
                          "client_address": f"10.1.{i % 250}.{user % 250}",
                          "user_agent": "docker/27.3.1", "outcome": "issued"}}
        elif kind == "user.login_failed":
            fields = {"trackable": "user", "item": name, "owner_id": user_id, "recipient": name,
                      "sentence": f"a token request as {name} was refused from 10.1.0.9:"
                                  " invalid username or password",
                      "parameters": {"outcome": "refused", "credential": "password"}}
        elif kind == "repository.pull":  # a registry fact: the namespace by name only
            fields = {"trackable": "repository", "item": repository, "repository": repository,
                      "namespace_name": ns_name, "recipient": "latest",
                      "sentence": f"{name} pulled {repository}:latest from 10.1.0.9",
                      "parameters": {"tag": "latest", "digest": f"sha256:{i:064x}"}}
        elif kind == "repository.push":
            fields = {"trackable": "repository", "item": repository, "repository": repository,
                      "namespace_id": ns_id, "namespace_name": ns_name, "recipient": "v1",
                      "sentence": f"{name} pushed {repository}:v1",
                      "parameters": {"tag": "v1", "digest": f"sha256:{i:064x}"}}
        elif kind == "team":
            kind = "team.change_member_role"
            fields = {"trackable": "team", "item": team_name, "recipient": name,
                      "owner_id": user_id, "team_id": team_id, "team_name": team_name,
                      "sentence": f"admin changed {name}'s role in team {team_name} from viewer"
                                  " to contributor",
                      "parameters": {"team": team_name, "old_role": "viewer",
                                     "new_role": "contributor"}}
        elif kind == "namespace":
            kind = "namespace.change_visibility"
            fields = {"trackable": "namespace", "item": ns_name, "namespace_id": ns_id,
                      "namespace_name": ns_name, "team_id": team_id, "team_name": team_name,
                      "sentence": f"admin made namespace {ns_name} public (was protected)",
                      "parameters": {"visibility": "public", "old_visibility": "protected"}}
        elif kind == "user":
            kind = "user.change_password"
            fields = {"trackable": "user", "item": name, "owner_id": user_id, "recipient": name,
                      "sentence": f"{name} changed the password of {name}"}
        elif kind == "registry":
            kind = "configuration.change"
            fields = {"trackable": "registry", "item": "access rules",
                      "sentence": "admin set the access rules: push policy allow-teams,"
                                  " delete by owners",
                      "parameters": {"push_policy": "allow-teams", "delete_enabled": True}}
        else:
            kind = "event.Gadget.Made"
            fields = {"trackable": "other", "item": "Gadget.Made",
                      "sentence": "admin recorded Gadget.Made"}
        log = AUDIT_LOG if kind in ("token.issue", "user.login_failed",
                                    "repository.pull") else CHANGE_LOG
        positions[log] += 1
        yield Entry.of({"log": log, "position": positions[log],
                        "occurred_us": start_us + i * 50_000, "type": kind,
                        "actor": name if fields["trackable"] != "other" else "admin",
                        **fields})


def load(store: ActivityStore, count: int, people: Population, chunk: int = 20_000) -> None:
    """Fresh tables filled with `count` realistic entries through the store's write path, in
    transactions of `chunk`, indexed once at the end as a rebuild does."""
    store.drop()
    store.create(indexes=False)
    store.write(CHANGE_LOG, [], after=0, upto=0, public={
        people.id_of(NAMESPACE, n): f"ns{n}" for n in range(people.namespaces)
        if people.public(n)})
    batches: dict[str, list[Entry]] = {CHANGE_LOG: [], AUDIT_LOG: []}
    written = {CHANGE_LOG: 0, AUDIT_LOG: 0}

    def flush(log: str) -> None:
        entries = batches[log]
        store.write(log, entries, after=written[log], upto=entries[-1].position)
        written[log] = entries[-1].position
        batches[log] = []

    for entry in realistic_entries(count, people):
        batches[entry.log].append(entry)
        if len(batches[entry.log]) >= chunk:
            flush(entry.log)
    for log, entries in batches.items():
        if entries:
            flush(log)
    store.create_indexes()


def pages(entries: int = 1_000_000, backends: tuple[str, ...] = ("sqlite", "postgresql"),
          count: int = 60) -> list[Row]:
    rows: list[Row] = []
    people = Population()
    for backend in backends:
        with location(backend) as where:
            store = open_activity_store(where)
            try:
                started = time.perf_counter()
                load(store, entries, people)
                load_s = time.perf_counter() - started
                names = [f"ns{n}" for n in range(people.namespaces)]
                measured = measure_pages(store, EVERYTHING, audience_of(people.viewer()),
                                         1_767_225_600_000_000, names, count,
                                         f"{entries:,} entries (bulk-loaded), {backend}")
                for measured_row in measured:
                    measured_row["load_s"] = round(load_s, 1)
                rows.extend(measured)
            finally:
                store.close()
    return rows


def cli() -> None:
    parser = argparse.ArgumentParser(description="Activity feed benchmarks (see the docstring).")
    parser.add_argument("--entries", type=int, default=1_000_000,
                        help="bulk-load this many feed entries and measure pages (0: skip)")
    parser.add_argument("--events", type=int, default=0,
                        help="also rebuild the feed from a history of this many real events")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--json", type=Path, help="write the rows (with p50 and max) here")
    args = parser.parse_args()
    backends = tuple(args.backends.split(","))
    rows = main(args.events, backends, args.pages) if args.events else []
    if args.entries:
        rows.extend(pages(args.entries, backends, args.pages))
    print_table(rows)
    for each in rows:
        extras = {k: v for k, v in each.items() if k in ("p50_ms", "max_ms", "load_s")}
        if extras:
            print(each["case"], extras)
    if args.json:
        write_json(args.json, rows)


if __name__ == "__main__":
    cli()
