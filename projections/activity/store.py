"""The activity feed's tables, in the same store as the logs (SQLite file or PostgreSQL schema).

Rows and the log positions they reflect are written in one transaction, and the position only
moves forward from the value the writer read, so two projectors racing, a crash mid-batch or a
replay never apply an event twice (style.md example 5). Pages are keyset-paginated on
(occurred_us, log, position). An admin's page is one scan of the time index (or of a filtered
column's index); anyone else's merges a scan per audience key they hold and one of the entries
public namespaces reveal (visibility.py), each stopping after a page: the cost of a page does not
grow with the feed (docs/benchmarks.md: 1M and 10M entries).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg_pool import ConnectionPool

from eventstore.location import StoreLocation
from eventstore.open import schema_lock_key
from projections.activity.entries import (
    AUDIT_LOG,
    CHANGE_LOG,
    COLUMNS,
    Entry,
    encode_parameters,
)
from projections.activity.visibility import (
    Audience,
    entry_keys,
    keys_of,
    public_keys,
    scans_for,
)

LOGS = (CHANGE_LOG, AUDIT_LOG)
SCHEMA_VERSION = 2
"""Bumped when the tables change shape: a store of another version is dropped and replayed."""

_ORDER = "occurred_us DESC, log DESC, position DESC"
_KEY = "occurred_us, log, position"
_TABLES = ["activity_entries", "activity_tracking", "activity_public", "activity_schema"]
_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS activity_entries ("
    + ", ".join(f"{c} BIGINT NOT NULL" if c in ("position", "occurred_us")
                else f"{c} TEXT NOT NULL" for c in (*COLUMNS, "audience", "public_ns"))
    + ", PRIMARY KEY (log, position))",
    "CREATE TABLE IF NOT EXISTS activity_tracking (log TEXT PRIMARY KEY, position BIGINT NOT NULL)",
    # Keys under which a namespace that is public now reveals entries (visibility.public_keys).
    "CREATE TABLE IF NOT EXISTS activity_public (key TEXT NOT NULL, namespace_id TEXT NOT NULL,"
    " PRIMARY KEY (key, namespace_id))",
    "CREATE INDEX IF NOT EXISTS activity_public_by_namespace ON activity_public (namespace_id)",
    "CREATE TABLE IF NOT EXISTS activity_schema (version INTEGER NOT NULL)",
]
_INDEXES = [
    f"CREATE INDEX IF NOT EXISTS activity_by_time ON activity_entries ({_KEY})",
    # A viewer's page merges one scan of this index per audience key they hold ...
    f"CREATE INDEX IF NOT EXISTS activity_by_audience ON activity_entries (audience, {_KEY})",
    # ... with one scan, newest first, of the entries a public namespace could reveal.
    f"CREATE INDEX IF NOT EXISTS activity_by_public ON activity_entries ({_KEY})"
    " WHERE public_ns <> ''",
    *(f"CREATE INDEX IF NOT EXISTS activity_by_{c} ON activity_entries ({c}, {_KEY})"
      for c in ("actor", "type", "team_id", "namespace_name", "repository")),
]
"""Secondary indexes: a full rebuild loads the rows first and builds these once at the end."""

_MAX_KEY_SCANS = 64
"""Beyond this many audience keys (a viewer in very many teams) one filtered scan of the time
index beats merging a scan per key."""

_SELECTED = ", ".join(COLUMNS)
_SELECTED_E = ", ".join(f"e.{c}" for c in COLUMNS)
_ORDER_E = "e.occurred_us DESC, e.log DESC, e.position DESC"
_STORED = (*COLUMNS, "audience", "public_ns")
_INSERT = (f"INSERT INTO activity_entries ({', '.join(_STORED)})"  # noqa: S608 - constant names
           f" VALUES ({', '.join('?' * len(_STORED))})")
_MAX_ROWS_PER_INSERT = 512
"""Rows per multi-row INSERT on SQLite (x 18 values: below its 32766 parameters)."""


@functools.cache
def _insert_rows(count: int) -> str:
    row = f"({', '.join('?' * len(_STORED))})"
    return (f"INSERT INTO activity_entries ({', '.join(_STORED)})"  # noqa: S608 - constant names
            f" VALUES {', '.join([row] * count)}")


_DUMP = f"SELECT {_SELECTED} FROM activity_entries ORDER BY log, position"  # noqa: S608
_IS_PUBLIC = "public_ns <> '' AND public_ns IN (SELECT key FROM activity_public)"


def stored_row(entry: Entry) -> tuple[Any, ...]:
    return (*entry.row(), *entry_keys(entry))


def row_of(fields: Mapping[str, Any]) -> tuple[Any, ...]:
    """`stored_row(Entry.of(fields))` without building the Entry: the live projector makes one
    per decision record, thousands a second, holding the GIL (issue 5)."""
    get = fields.get
    kind, trackable = fields["type"], fields["trackable"]
    owner_id, team_id = get("owner_id", ""), get("team_id", "")
    namespace_id, namespace_name = get("namespace_id", ""), get("namespace_name", "")
    parameters = get("parameters")
    return (fields["log"], fields["position"], fields["occurred_us"], kind, trackable,
            fields["actor"], fields["sentence"], get("item", ""), owner_id,
            get("recipient", ""), team_id, get("team_name", ""), namespace_id, namespace_name,
            get("repository", ""), encode_parameters(parameters) if parameters else "{}",
            *keys_of(trackable, kind, team_id, owner_id, namespace_id, namespace_name))


class StaleTrackingError(Exception):
    """Another projector moved the feed first; reload the positions and go on from there."""


@dataclass(frozen=True)
class Query:
    actor: str | None = None
    team_id: str | None = None
    namespace: str | None = None
    repository: str | None = None
    types: tuple[str, ...] = ()
    """Exact keys (`team.add_member`) or families (`team`)."""
    since_us: int | None = None
    until_us: int | None = None
    before: tuple[int, str, int] | None = None
    """The cursor: entries strictly older than (occurred_us, log, position)."""
    limit: int = 50


class _Connection(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any: ...


class ActivityStore:
    """One interface, two backends (SQLite and PostgreSQL); blocking, call it from the pool."""

    placeholder = "?"

    def _connect(self, *, write: bool = False) -> contextlib.AbstractContextManager[Any]:
        raise NotImplementedError

    def _sql(self, text: str) -> str:
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)

    def close(self) -> None:
        pass

    def _lock_for_ddl(self, conn: Any) -> None:
        """Serialise table creation with other nodes starting at the same time."""

    def _version(self, conn: Any) -> int | None:
        """The schema version of the tables in place (None when there are none)."""
        raise NotImplementedError

    def create(self, *, indexes: bool = True) -> None:
        """The tables (and, unless a bulk load follows, their indexes). Tables of an older
        shape are dropped: the feed is a fold, the projector replays it from the logs."""
        with self._connect(write=True) as conn:
            self._lock_for_ddl(conn)
            if self._version(conn) not in (None, SCHEMA_VERSION):
                self._drop(conn)
            for statement in _SCHEMA:
                conn.execute(statement)
            if conn.execute("SELECT count(*) FROM activity_schema").fetchone()[0] == 0:
                conn.execute(self._sql("INSERT INTO activity_schema (version) VALUES (?)"),
                             (SCHEMA_VERSION,))
            # The tracking rows before the indexes: a node already running takes its tracking
            # row, then writes entries; a starting node that took the entries' index lock
            # first and then waited on that row deadlocked with it (PostgreSQL, two nodes).
            for log in LOGS:
                conn.execute(self._sql("INSERT INTO activity_tracking (log, position) VALUES (?, 0)"
                                       " ON CONFLICT (log) DO NOTHING"), (log,))
            for statement in _INDEXES if indexes else ():
                conn.execute(statement)

    def create_indexes(self) -> None:
        with self._connect(write=True) as conn:
            self._sort_memory(conn)
            for statement in _INDEXES:
                conn.execute(statement)
            self._analyze(conn)

    def _sort_memory(self, conn: Any) -> None:
        """Room for sorting a bulk-loaded table into its indexes in this transaction."""

    def _analyze(self, conn: Any) -> None:
        """Fresh statistics after a bulk load, so the planner knows the new indexes' worth."""

    def drop(self) -> None:
        with self._connect(write=True) as conn:
            self._lock_for_ddl(conn)
            self._drop(conn)

    def _drop(self, conn: Any) -> None:
        for table in _TABLES:
            conn.execute(f"DROP TABLE IF EXISTS {table}")

    def positions(self) -> dict[str, int]:
        with self._connect() as conn:
            rows = conn.execute("SELECT log, position FROM activity_tracking").fetchall()
        return {str(log): int(position) for log, position in rows}

    def write(self, log: str, entries: Sequence[Entry], *, after: int, upto: int,
              public: Mapping[str, str | None] | None = None) -> None:
        """Add `entries`, record which namespaces are public now (`public`: namespace id ->
        its name if it is public, None if it is not or is gone) and move `log`'s position from
        `after` to `upto`, atomically."""
        self.write_rows(log, [stored_row(e) for e in entries], after=after, upto=upto,
                        public=public)

    def write_rows(self, log: str, rows: list[tuple[Any, ...]], *, after: int, upto: int,
                   public: Mapping[str, str | None] | None = None) -> None:
        """`write` with the entries' stored rows (`stored_row`, `row_of`)."""
        with self._connect(write=True) as conn:
            moved = conn.execute(self._sql(
                "UPDATE activity_tracking SET position = ? WHERE log = ? AND position = ?"),
                (upto, log, after))
            if moved.rowcount != 1:
                raise StaleTrackingError(f"the feed's position in {log} is no longer {after}")
            if rows:
                self._insert_many(conn, rows)
            if public:
                touched = sorted(public)
                conn.execute(self._sql("DELETE FROM activity_public WHERE namespace_id IN"  # noqa: S608
                                       f" ({', '.join('?' * len(touched))})"), touched)
                self._executemany(
                    conn, "INSERT INTO activity_public (key, namespace_id) VALUES (?, ?)",
                    [(key, namespace_id) for namespace_id, name in public.items()
                     if name is not None for key in public_keys(namespace_id, name)])

    def _insert_many(self, conn: Any, rows: list[tuple[Any, ...]]) -> None:
        self._executemany(conn, _INSERT, rows)

    def _executemany(self, conn: Any, sql: str, rows: list[tuple[Any, ...]]) -> None:
        conn.executemany(self._sql(sql), rows)

    def public_namespaces(self) -> set[tuple[str, str]]:
        """(key, namespace id) of every public namespace (for comparing a rebuild)."""
        with self._connect() as conn:
            rows = conn.execute("SELECT key, namespace_id FROM activity_public").fetchall()
        return {(str(key), str(namespace_id)) for key, namespace_id in rows}

    def page(self, query: Query, audience: Audience) -> list[Entry]:
        """The newest `query.limit` entries matching `query` that `audience` may see."""
        where, params = self._conditions(query)
        if audience.everything:
            sql = (f"SELECT {_SELECTED} FROM activity_entries"  # noqa: S608
                   f" WHERE {' AND '.join(where) or '1=1'} ORDER BY {_ORDER} LIMIT ?")
            return self._fetch(sql, [*params, query.limit])
        # A scan for the viewer's keys and one for the entries public namespaces reveal, each
        # reading at most a page of (time, log, position) from an index, merged; then the
        # page's rows. Two scans, not one with an OR: each is then a plain index range.
        keys, public = scans_for(audience, query.types)
        condition = " AND ".join([*where, ""])
        scans: list[str] = []
        scan_params: list[Any] = []
        column_filter = any(v is not None for v in (query.actor, query.team_id, query.namespace,
                                                    query.repository))
        if keys and (column_filter or len(keys) > _MAX_KEY_SCANS):
            # The filter's own index narrows the most: the keys are checked row by row on it.
            scans.append(f"SELECT * FROM (SELECT {_KEY} FROM activity_entries"  # noqa: S608
                         f" WHERE {condition}audience IN ({', '.join('?' * len(keys))})"
                         f" ORDER BY {_ORDER} LIMIT ?) AS key_scan")
            scan_params.extend([*params, *keys, query.limit])
        elif keys:  # one scan of the audience index per key
            sql, key_params = self._per_key_scans(condition, params, keys, query.limit)
            scans.append(sql)
            scan_params.extend(key_params)
        if public:
            scans.append(f"SELECT * FROM (SELECT {_KEY} FROM activity_entries"  # noqa: S608
                         f" WHERE {condition}{_IS_PUBLIC} ORDER BY {_ORDER} LIMIT ?)"
                         " AS public_scan")
            scan_params.extend([*params, query.limit])
        if not scans:
            return []
        sql = (f"SELECT {_SELECTED_E} FROM (SELECT {_KEY} FROM ({' UNION '.join(scans)})"  # noqa: S608
               f" AS candidates ORDER BY {_ORDER} LIMIT ?) AS top"
               " JOIN activity_entries AS e ON e.log = top.log AND e.position = top.position"
               f" ORDER BY {_ORDER_E}")
        return self._fetch(sql, [*scan_params, query.limit])

    def _per_key_scans(self, condition: str, params: list[Any], keys: Sequence[str],
                       limit: int) -> tuple[str, list[Any]]:
        """SQL selecting (occurred_us, log, position) of at most `limit` entries per key."""
        scans = [f"SELECT * FROM (SELECT {_KEY} FROM activity_entries"  # noqa: S608
                 f" WHERE {condition}audience = ? ORDER BY {_ORDER} LIMIT ?) AS scan{i}"
                 for i in range(len(keys))]
        return " UNION ".join(scans), [v for key in keys for v in (*params, key, limit)]

    def _fetch(self, sql: str, params: list[Any]) -> list[Entry]:
        # Only constant column names and `?` placeholders are spliced in; values are parameters.
        with self._connect() as conn:
            rows = conn.execute(self._sql(sql), params).fetchall()
        return [Entry.from_row(tuple(row)) for row in rows]

    def _conditions(self, query: Query) -> tuple[list[str], list[Any]]:
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("actor", query.actor), ("team_id", query.team_id),
                              ("namespace_name", query.namespace),
                              ("repository", query.repository)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if query.types:
            alternatives = []
            for kind in query.types:
                if "." in kind:
                    alternatives.append("type = ?")
                    params.append(kind)
                else:
                    alternatives.append("(type >= ? AND type < ?)")
                    params.extend([f"{kind}.", f"{kind}/"])  # '/' sorts right after '.'
            where.append("(" + " OR ".join(alternatives) + ")")
        if query.since_us is not None:
            where.append("occurred_us >= ?")
            params.append(query.since_us)
        if query.until_us is not None:
            where.append("occurred_us < ?")
            params.append(query.until_us)
        if query.before is not None:
            where.append(f"({_KEY}) < (?, ?, ?)")
            params.extend(query.before)
        return where, params

    def dump(self) -> list[Entry]:
        """Every entry in log order (for comparing a rebuilt feed with the live one)."""
        with self._connect() as conn:
            rows = conn.execute(_DUMP).fetchall()
        return [Entry.from_row(tuple(row)) for row in rows]

    def count(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("SELECT count(*) FROM activity_entries").fetchone()[0])


class SQLiteActivityStore(ActivityStore):
    """One connection per thread, kept open: opening one per call, and the checkpoint the last
    one closing makes, cost more than a batch of rows. `synchronous=NORMAL` (WAL): a power cut
    may lose the last batches, never tear one, and the projector replays them from the logs."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None,
                                   check_same_thread=False)  # closed by close(), from any thread
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            with self._lock:
                self._opened.append(conn)
        return conn

    @contextlib.contextmanager
    def _connect(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _insert_many(self, conn: Any, rows: list[tuple[Any, ...]]) -> None:
        # Multi-row statements: executemany steps once per row, and each step lets go of the
        # GIL and takes it back, a handover with the event loop per row when the live
        # projector runs in the service. Chunks of powers of two: a handful of statements,
        # each prepared once and kept in the connection's statement cache.
        start = 0
        while start < len(rows):
            size = min(_MAX_ROWS_PER_INSERT, 1 << ((len(rows) - start).bit_length() - 1))
            chunk = rows[start:start + size]
            conn.execute(_insert_rows(size), list(itertools.chain.from_iterable(chunk)))
            start += size

    def _version(self, conn: Any) -> int | None:
        tables = {name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'activity_%'")}
        if "activity_schema" in tables:
            found = conn.execute("SELECT max(version) FROM activity_schema").fetchone()[0]
            return int(found) if found is not None else SCHEMA_VERSION
        return 1 if tables else None

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()
        self._local = threading.local()


class PostgresActivityStore(ActivityStore):
    placeholder = "%s"

    def __init__(self, conninfo: str, schema: str) -> None:
        # Autocommit: a page is one statement, and needs no BEGIN and COMMIT round trips;
        # writes open their transaction explicitly. No prepared statements (psycopg prepares a
        # query after 5 runs, and PostgreSQL then may plan it once for any parameters): how
        # selective a page's filter is depends on its values, and a generic plan of a
        # non-admin's namespace filter walked the time index, 30 ms at 10M entries against
        # 1.2 ms planned for its values (docs/benchmarks.md).
        self._pool = ConnectionPool(conninfo, min_size=1, max_size=4, open=True, timeout=10,
                                    kwargs={"autocommit": True, "prepare_threshold": None})
        self._schema = schema

    def _lock_for_ddl(self, conn: Any) -> None:
        # The lock every log and side table takes while creating tables in this schema
        # (eventstore.open): concurrent CREATE ... IF NOT EXISTS collide otherwise.
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (schema_lock_key(self._schema),))

    @contextlib.contextmanager
    def _connect(self, *, write: bool = False) -> Iterator[psycopg.Connection[Any]]:
        with self._pool.connection() as conn, (
                conn.transaction() if write else contextlib.nullcontext()):
            if write:
                # A projection's commit need not wait for the disk: a crash loses the last
                # batches together with their positions, and the projector replays them.
                conn.execute("SET LOCAL synchronous_commit TO OFF")
            yield conn

    def _version(self, conn: Any) -> int | None:
        tables = {name for (name,) in conn.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_name LIKE 'activity%'")}
        if "activity_schema" in tables:
            found = conn.execute("SELECT max(version) FROM activity_schema").fetchone()[0]
            return int(found) if found is not None else SCHEMA_VERSION
        return 1 if tables else None

    def _insert_many(self, conn: Any, rows: list[tuple[Any, ...]]) -> None:
        # COPY: one round trip and no per-row statement, several times executemany's rate.
        with conn.cursor() as cursor, cursor.copy(
                f"COPY activity_entries ({', '.join(_STORED)}) FROM STDIN") as copy:
            for stored in rows:
                copy.write_row(stored)

    def _executemany(self, conn: Any, sql: str, rows: list[tuple[Any, ...]]) -> None:
        with conn.cursor() as cursor:
            cursor.executemany(self._sql(sql), rows)

    def _sort_memory(self, conn: Any) -> None:
        conn.execute("SET LOCAL maintenance_work_mem = '256MB'")

    def _analyze(self, conn: Any) -> None:
        conn.execute("ANALYZE activity_entries")
        conn.execute("ANALYZE activity_public")

    def _per_key_scans(self, condition: str, params: list[Any], keys: Sequence[str],
                       limit: int) -> tuple[str, list[Any]]:
        # One statement whatever the number of keys (a union of one scan per key costs more
        # to plan than to run): the keys as an array, each scanned in a lateral subquery.
        return (f"SELECT scan.* FROM unnest(?::text[]) AS k(key) CROSS JOIN LATERAL"  # noqa: S608
                f" (SELECT {_KEY} FROM activity_entries WHERE {condition}audience = k.key"
                f" ORDER BY {_ORDER} LIMIT ?) AS scan"), [list(keys), *params, limit]

    def close(self) -> None:
        self._pool.close()


def open_activity_store(location: StoreLocation) -> ActivityStore:
    """The feed's store beside the logs, its tables created if missing. Blocking."""
    store: ActivityStore
    if location.postgres is None:
        location.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        store = SQLiteActivityStore(str(location.sqlite_path("activity")))
    else:
        target = location.postgres
        store = PostgresActivityStore(make_conninfo(
            target.conninfo(), options=f"-c search_path={target.schema}"), target.schema)
    try:
        store.create()
    except BaseException:
        store.close()
        raise
    return store
