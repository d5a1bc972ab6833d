"""Realistic activity entries for the feed's page benchmark, and loading millions of them fast.

`realistic_entry(i)` is entry number `i` of a busy installation's feed, as the projector describes
it (sentence, parameters, audience keys): mostly token decisions and pulls, for 100k users in 10k
teams owning 50k namespaces, a third of them public, one entry every 50 ms. Every random choice is
a hash of `i` (`mix`), not a random generator's state, so the same entries can be made by the
database itself: `bulk_load` inserts rows `[start, stop)` with one `INSERT ... SELECT` over a
series (PostgreSQL `generate_series`, SQLite a recursive CTE) instead of building 10M Python
objects and sending them (the store's write path took about an hour per backend for 10M on the
shared machine; this takes minutes). tests/bench/test_feed_entries.py checks that bulk-loaded rows
are the rows the store's own write path stores for `realistic_entry`, and page identically.

Positions: entry `i` is at position `i + 1` of its log (the change log or the audit trail), so
each log's positions have gaps, as a real feed's have (events that describe nothing, the other
log's events). The indexes are the store's own (`ActivityStore.create_indexes`), built after the
rows as a rebuild builds them; growing the feed drops them first and builds them again.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg

from eventstore.location import StoreLocation
from projections.activity.entries import AUDIT_LOG, CHANGE_LOG, Entry
from projections.activity.store import open_activity_store
from projections.activity.visibility import Viewer

USER, TEAM, NAMESPACE = 1, 2, 3
START_US = 1_767_225_600_000_000
"""2026-01-01T00:00:00Z: the first entry's time; entry i is i * 50 ms later."""
STEP_US = 50_000


@dataclass(frozen=True)
class Population:
    """Who the entries are about: a busy installation's people and namespaces."""

    users: int = 100_000
    teams: int = 10_000
    namespaces: int = 50_000

    @staticmethod
    def id_of(kind: int, n: int) -> str:
        return str(UUID(int=(kind << 64) | n))

    def team_of_namespace(self, namespace: int) -> int:
        return namespace % self.teams

    def public(self, namespace: int) -> bool:
        return namespace % 3 == 0

    def public_namespaces(self) -> dict[str, str | None]:
        """namespace id -> name, of the public ones (the store's `write(public=...)`)."""
        return {self.id_of(NAMESPACE, n): f"ns{n}" for n in range(self.namespaces)
                if self.public(n)}

    def viewer(self) -> Viewer:
        """A user in two teams (0 and 1), who owns those teams' namespaces."""
        teams = {0, 1}
        owned = [n for t in teams for n in range(t, self.namespaces, self.teams)]
        return Viewer(self.id_of(USER, self.teams),
                      team_ids=frozenset(self.id_of(TEAM, t) for t in teams),
                      namespace_ids=frozenset(self.id_of(NAMESPACE, n) for n in owned),
                      namespace_names=frozenset(f"ns{n}" for n in owned))


MIX = (("token.issue", 50), ("repository.pull", 25), ("repository.push", 8), ("team", 5),
       ("user.login_failed", 5), ("namespace", 3), ("user", 2), ("registry", 1), ("other", 1))
"""Kinds of entries and their share in percent: token decisions and pulls (the audit trail's
high-volume facts) dominate, as they do on a registry in use."""
_KINDS = [kind for kind, share in MIX for _ in range(share)]
_AUDITED = ("token.issue", "user.login_failed", "repository.pull")
"""Kinds from the audit trail; the others come from the change log."""

_PRIME = 2_147_483_647
"""2^31 - 1: every product in `mix` stays below 2^63, so SQLite and PostgreSQL compute it in
64-bit integers exactly as Python does (SQLite turns an overflowing product into a float)."""
KIND, WHO, WHERE, APP = 1, 2, 3, 4
"""Salts of `mix`: one independent draw per choice an entry makes."""


def mix(i: int, salt: int) -> int:
    """A pseudo-random number in [0, 2^31 - 1) from `i` and `salt` (an affine step and two
    squarings modulo a prime); `_mix_sql` is the same in SQL."""
    x = (i * 1_103_515_245 + salt * 12_345) % _PRIME
    x = (x * x + salt) % _PRIME
    return (x * x + 7) % _PRIME


def realistic_entry(i: int, people: Population = Population()) -> Entry:
    """Entry number `i`, as the projector describes such an event (`bulk_load` writes the same
    rows without this function)."""
    kind = _KINDS[mix(i, KIND) % 100]
    user = mix(i, WHO) % people.users
    name, user_id = f"user{user}", people.id_of(USER, user)
    namespace = mix(i, WHERE) % people.namespaces
    ns_name, ns_id = f"ns{namespace}", people.id_of(NAMESPACE, namespace)
    team = people.team_of_namespace(namespace)
    team_name, team_id = f"team{team}", people.id_of(TEAM, team)
    repository = f"{ns_name}/app{mix(i, APP) % 5}"
    fields: dict[str, object]
    if kind == "token.issue":
        scope = f"repository:{repository}:pull"
        address = f"10.1.{i % 250}.{user % 250}"
        fields = {"trackable": "token", "item": f"{i:x}", "owner_id": user_id,
                  "recipient": name, "sentence": f"{name} was issued a token for"
                  f" registry.example.org:5000 from {address} granting {scope}",
                  "parameters": {
                      "service": "registry.example.org:5000", "credential": "app_token",
                      "requested": [scope], "granted": [scope],
                      "reasons": {scope: {"pull": "team viewer"}}, "jti": f"{i:x}",
                      "client_address": address, "user_agent": "docker/27.3.1",
                      "outcome": "issued"}}
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
    return Entry.of({"log": AUDIT_LOG if kind in _AUDITED else CHANGE_LOG, "position": i + 1,
                     "occurred_us": START_US + i * STEP_US, "type": kind,
                     "actor": name if fields["trackable"] != "other" else "admin", **fields})


def realistic_entries(start: int, stop: int, people: Population = Population()
                      ) -> Iterator[Entry]:
    return (realistic_entry(i, people) for i in range(start, stop))


# -- the same entries, made by the database --------------------------------------------------

@dataclass(frozen=True)
class _Dialect:
    postgres: bool

    def hex(self, value: str, width: int = 0) -> str:
        if self.postgres:
            return f"lpad(to_hex({value}), {width}, '0')" if width else f"to_hex({value})"
        return f"printf('%0{width}x', {value})" if width else f"printf('%x', {value})"

    def uuid(self, kind: int, value: str) -> str:
        """Population.id_of in SQL: `kind` in the high 64 bits, `value` (< 2^48) in the low."""
        return f"'00000000-0000-{kind:04x}-0000-' || {self.hex(value, 12)}"

    @property
    def unmerged(self) -> str:
        """Keeps a subquery from being merged into the query around it."""
        return "OFFSET 0" if self.postgres else "LIMIT -1 OFFSET 0"

    def series(self, start: int, stop: int) -> tuple[str, str]:
        """(WITH clause, FROM item) yielding column i over [start, stop)."""
        if self.postgres:
            return "", f"generate_series({start}::bigint, {stop - 1}) AS s(i)"
        return (f"WITH RECURSIVE s(i) AS (SELECT {start} UNION ALL SELECT i + 1 FROM s"  # noqa: S608
                f" WHERE i + 1 < {stop}) ", "s")


def _mix_sql(salt: int) -> str:
    x = f"((i * 1103515245 + {salt * 12_345}) % {_PRIME})"
    x = f"(({x} * {x} + {salt}) % {_PRIME})"
    return f"(({x} * {x} + 7) % {_PRIME})"


def _fmt(template: str, *args: str) -> str:
    """format(template, args...): each %s replaced by an SQL expression, in one call (a chain
    of || copies the string once per piece). The same function on both backends."""
    assert template.count("%s") == len(args)
    quoted = template.replace("'", "''")
    return f"format('{quoted}', {', '.join(args)})" if args else f"'{quoted}'"


def _cases(by_kind: dict[str, str], default: str = "''") -> str:
    """CASE on the entry's kind (column c: its index in MIX)."""
    index = {kind: n for n, (kind, _) in enumerate(MIX)}
    arms = " ".join(f"WHEN {index[kind]} THEN {value}" for kind, value in by_kind.items())
    return f"CASE c {arms} ELSE {default} END"


_DECISION_JSON = (
    '{"client_address": "%s", "credential": "app_token", "granted": ["%s"], "jti": "%s",'
    ' "outcome": "issued", "reasons": {"%s": {"pull": "team viewer"}}, "requested": ["%s"],'
    ' "service": "registry.example.org:5000", "user_agent": "docker/27.3.1"}')
"""json.dumps(sort_keys=True) of a token decision's parameters (realistic_entry)."""


def insert_sql(start: int, stop: int, people: Population, *, postgres: bool) -> str:
    """`INSERT INTO activity_entries ... SELECT` of entries [start, stop): the rows the store's
    write path stores for `realistic_entry(i)` (stored_row: the entry's row and its keys).

    The draws and the strings several columns share are computed once per row in a subquery
    the planner may not merge into the outer one (OFFSET 0): merged, each column's CASE would
    evaluate them again, several times the work."""
    d = _Dialect(postgres)
    shared = {
        "name": "'user' || u", "user_id": d.uuid(USER, "u"), "ns_name": "'ns' || n",
        "ns_id": d.uuid(NAMESPACE, "n"), "team_name": f"'team' || (n % {people.teams})",
        "team_id": d.uuid(TEAM, f"(n % {people.teams})"),
        "repository": "'ns' || n || '/app' || a", "jti": d.hex("i"),
        "address": "'10.1.' || (i % 250) || '.' || (u % 250)",
        "scope": "'repository:ns' || n || '/app' || a || ':pull'", "digest": d.hex("i", 64)}
    audit = ("token.issue", "user.login_failed", "repository.pull")
    columns = {
        "log": _cases({k: f"'{AUDIT_LOG}'" for k in audit}, f"'{CHANGE_LOG}'"),
        "position": "i + 1",
        "occurred_us": f"{START_US} + i * {STEP_US}",
        "type": _cases({kind: f"'{kind}'" for kind in ("token.issue", "repository.pull",
                                                       "repository.push", "user.login_failed")}
                       | {"team": "'team.change_member_role'",
                          "namespace": "'namespace.change_visibility'",
                          "user": "'user.change_password'", "registry": "'configuration.change'"},
                       "'event.Gadget.Made'"),
        "trackable": _cases({"token.issue": "'token'", "user.login_failed": "'user'",
                             "repository.pull": "'repository'",
                             "repository.push": "'repository'", "team": "'team'",
                             "namespace": "'namespace'", "user": "'user'",
                             "registry": "'registry'"}, "'other'"),
        "actor": _cases({"other": "'admin'"}, "name"),
        "sentence": _cases({
            "token.issue": _fmt("%s was issued a token for registry.example.org:5000 from %s"
                                " granting %s", "name", "address", "scope"),
            "user.login_failed": _fmt("a token request as %s was refused from 10.1.0.9:"
                                      " invalid username or password", "name"),
            "repository.pull": _fmt("%s pulled %s:latest from 10.1.0.9", "name", "repository"),
            "repository.push": _fmt("%s pushed %s:v1", "name", "repository"),
            "team": _fmt("admin changed %s's role in team %s from viewer to contributor",
                         "name", "team_name"),
            "namespace": _fmt("admin made namespace %s public (was protected)", "ns_name"),
            "user": _fmt("%s changed the password of %s", "name", "name"),
            "registry": _fmt("admin set the access rules: push policy allow-teams, delete by"
                             " owners")}, _fmt("admin recorded Gadget.Made")),
        "item": _cases({"token.issue": "jti", "user.login_failed": "name",
                        "repository.pull": "repository", "repository.push": "repository",
                        "team": "team_name", "namespace": "ns_name", "user": "name",
                        "registry": "'access rules'"}, "'Gadget.Made'"),
        "owner_id": _cases({k: "user_id" for k in ("token.issue", "user.login_failed", "team",
                                                   "user")}),
        "recipient": _cases({"token.issue": "name", "user.login_failed": "name",
                             "repository.pull": "'latest'", "repository.push": "'v1'",
                             "team": "name", "user": "name"}),
        "team_id": _cases({"team": "team_id", "namespace": "team_id"}),
        "team_name": _cases({"team": "team_name", "namespace": "team_name"}),
        "namespace_id": _cases({"repository.push": "ns_id", "namespace": "ns_id"}),
        "namespace_name": _cases({"repository.pull": "ns_name", "repository.push": "ns_name",
                                  "namespace": "ns_name"}),
        "repository": _cases({"repository.pull": "repository", "repository.push": "repository"}),
        "parameters": _cases({
            "token.issue": _fmt(_DECISION_JSON, "address", "scope", "jti", "scope", "scope"),
            "user.login_failed": _fmt('{"credential": "password", "outcome": "refused"}'),
            "repository.pull": _fmt('{"digest": "sha256:%s", "tag": "latest"}', "digest"),
            "repository.push": _fmt('{"digest": "sha256:%s", "tag": "v1"}', "digest"),
            "team": _fmt('{"new_role": "contributor", "old_role": "viewer", "team": "%s"}',
                         "team_name"),
            "namespace": _fmt('{"old_visibility": "protected", "visibility": "public"}'),
            "registry": _fmt('{"delete_enabled": true, "push_policy": "allow-teams"}')},
            "'{}'"),
        # visibility.entry_keys: the audience key, and the key a public namespace reveals under
        "audience": _cases({"token.issue": "'user:' || user_id",
                            "user.login_failed": "'user:' || user_id",
                            "repository.pull": "'nsname:' || ns_name",
                            "repository.push": "'ns:' || ns_id",
                            "team": "'team:' || team_id", "namespace": "'ns:' || ns_id",
                            "user": "'user:' || user_id", "registry": "'everyone'"}),
        "public_ns": _cases({"repository.pull": "'nsname:' || ns_name",
                             "repository.push": "'ns:' || ns_id",
                             "namespace": "'ns:' || ns_id"}),
    }
    category = "CASE " + " ".join(f"WHEN k < {bound} THEN {n}" for n, bound in enumerate(
        sum(share for _, share in MIX[:n + 1]) for n in range(len(MIX)))) + " END"
    with_clause, source = d.series(start, stop)
    draws = (f"SELECT i, {_mix_sql(KIND)} % 100 AS k, {_mix_sql(WHO)} % {people.users} AS u,"  # noqa: S608
             f" {_mix_sql(WHERE)} % {people.namespaces} AS n, {_mix_sql(APP)} % 5 AS a"
             f" FROM {source}")
    named = ", ".join(f"{sql} AS {column}" for column, sql in shared.items())
    return (f"{with_clause}INSERT INTO activity_entries ({', '.join(columns)})"  # noqa: S608
            f" SELECT {', '.join(columns.values())}"
            f" FROM (SELECT i, {category} AS c, {named}"
            f" FROM ({draws} {d.unmerged}) AS draws {d.unmerged}) AS entries")


def bulk_load(where: StoreLocation, start: int, stop: int, people: Population, *,
              chunk: int = 500_000) -> dict[str, float]:
    """Entries [start, stop) inserted by the database itself, then the store's secondary
    indexes built again (they are dropped first: a rebuild, too, loads rows without them);
    returns the seconds taken. PostgreSQL inserts chunks from two sessions at once (generating
    the rows is the work, and there are two cores); SQLite has one writer.

    The store is closed while it loads (SQLite: the loader's connection is the file's only
    one). The indexes are the store's own, as its catalog defines them (`store.create()` makes
    them). Bench-only settings for the load: no waiting for the disk (`synchronous_commit=off`,
    `synchronous=OFF`), and room to sort 10M keys in memory (`maintenance_work_mem`, SQLite's
    cache and sorter threads) where `create_indexes` gives a rebuild 256 MB or the defaults;
    statistics afterwards as `create_indexes` gathers them (PostgreSQL only)."""
    started = time.perf_counter()
    postgres = where.postgres is not None
    if start == 0:
        store = open_activity_store(where)
        try:
            store.drop()
            store.create()
            store.write(CHANGE_LOG, [], after=0, upto=0, public=people.public_namespaces())
        finally:
            store.close()
    with loading(where) as conn:
        indexes = secondary_indexes(conn, postgres=postgres)
        for name in indexes:
            conn.execute(f"DROP INDEX {name}")
        conn.commit()
    chunks = [(low, min(stop, low + chunk)) for low in range(start, stop, chunk)]

    def insert(part: list[tuple[int, int]]) -> None:
        with loading(where) as conn:
            for low, high in part:
                conn.execute(insert_sql(low, high, people, postgres=postgres))
                conn.commit()

    sessions = 2 if postgres else 1
    with ThreadPoolExecutor(sessions) as pool:
        for job in [pool.submit(insert, chunks[n::sessions]) for n in range(sessions)]:
            job.result()
    inserted = time.perf_counter()

    def build(definitions: list[str]) -> None:
        with loading(where) as conn:
            if postgres:
                conn.execute(f"SET maintenance_work_mem = '{2048 // sessions}MB'")
            else:
                conn.execute("PRAGMA cache_size=-2097152")  # 2 GiB
                conn.execute("PRAGMA threads=2")
            for definition in definitions:
                conn.execute(definition)
                conn.commit()

    # PostgreSQL builds two indexes at a time, one per session: on two cores, the eight over
    # 2M entries took 20 s so against 29 s one after another (each build's own parallel
    # workers do not keep both cores busy).
    definitions = sorted(indexes.values())
    with ThreadPoolExecutor(sessions) as pool:
        for job in [pool.submit(build, definitions[n::sessions]) for n in range(sessions)]:
            job.result()
    if postgres:
        with loading(where) as conn:
            conn.execute("ANALYZE activity_entries")
            conn.execute("ANALYZE activity_public")
            conn.commit()
    done = time.perf_counter()
    return {"load_s": round(done - started, 1), "index_s": round(done - inserted, 1)}


def secondary_indexes(conn: Any, *, postgres: bool) -> dict[str, str]:
    """Name -> definition of the feed table's secondary indexes, from the catalog."""
    if postgres:
        found = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
            " AND tablename = 'activity_entries' AND indexname LIKE 'activity_by_%'"
            " ORDER BY indexname").fetchall()
    else:
        found = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
            " AND tbl_name = 'activity_entries' AND name LIKE 'activity_by_%'"
            " ORDER BY name").fetchall()
    return {str(name): str(definition) for name, definition in found}


@contextlib.contextmanager
def loading(where: StoreLocation) -> Iterator[Any]:
    """A connection of the loader's own, with the bench-only settings."""
    target = where.postgres
    conn: Any
    if target is None:
        # No journal: the loader is the file's only connection (the store is closed while it
        # loads), and a load that fails is thrown away. WAL again afterwards, as the store
        # keeps it.
        conn = sqlite3.connect(where.sqlite_path("activity"), timeout=60)
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-262144")  # 256 MiB
    else:
        conn = psycopg.connect(target.conninfo(), options=f"-c search_path={target.schema}")
        conn.execute("SET synchronous_commit TO OFF")
    try:
        yield conn
    finally:
        if target is None:
            conn.execute("PRAGMA journal_mode=WAL")
        conn.close()
