"""Side tables' connections: a running node reuses a few PostgreSQL connections instead of
starting a server process per transaction; a failed transaction leaves nothing behind and the
connection usable; close() ends them (both backends run the same transactions)."""

from __future__ import annotations

import pytest

from eventstore.location import StoreLocation
from eventstore.side_tables import SideTables

DDL = ("CREATE TABLE IF NOT EXISTS {t:side_probe} (k TEXT PRIMARY KEY, v INTEGER NOT NULL)",)


def backend_process(side: SideTables) -> int:
    with side.transaction() as cur:
        cur.execute("SELECT pg_backend_pid()")
        return int(cur.fetchone()[0])


def rows(side: SideTables) -> list[tuple[str, int]]:
    with side.transaction() as cur:
        cur.execute(side.render("SELECT k, v FROM {t:side_probe} ORDER BY k"))
        return [tuple(r) for r in cur.fetchall()]


def insert(side: SideTables, key: str, value: int) -> None:
    with side.transaction() as cur:
        cur.execute(side.render("INSERT INTO {t:side_probe} (k, v) VALUES (?, ?)"), (key, value))


def insert_then_fail(side: SideTables) -> None:
    with side.transaction() as cur:
        cur.execute(side.render("INSERT INTO {t:side_probe} (k, v) VALUES (?, ?)"), ("b", 2))
        raise ZeroDivisionError


def test_transactions_commit_or_leave_nothing(location: StoreLocation) -> None:
    side = SideTables(location, keep_connections=2)
    try:
        side.create(DDL)
        with side.transaction() as cur:
            cur.execute(side.render("INSERT INTO {t:side_probe} (k, v) VALUES (?, ?)"), ("a", 1))
        with pytest.raises(ZeroDivisionError):
            insert_then_fail(side)
        with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
            insert(side, "a", 3)
        # The connection that saw the failures is clean: the next transaction works.
        with side.transaction() as cur:
            cur.execute(side.render("INSERT INTO {t:side_probe} (k, v) VALUES (?, ?)"), ("c", 4))
        assert rows(side) == [("a", 1), ("c", 4)]
    finally:
        side.close()


def test_a_node_reuses_its_connections_until_closed(location: StoreLocation) -> None:
    kept = SideTables(location, keep_connections=2)
    try:
        kept.create(DDL)
        if location.postgres is not None:
            first = backend_process(kept)
            assert backend_process(kept) == first
            kept.close()
            assert backend_process(kept) != first  # closed: a new connection, not kept
            assert not kept._idle
        else:
            kept.close()  # SQLite keeps nothing: close() is harmless
        with kept.transaction() as cur:
            cur.execute(kept.render("INSERT INTO {t:side_probe} (k, v) VALUES (?, ?)"), ("z", 9))
        assert rows(kept) == [("z", 9)]
    finally:
        kept.close()
