"""Tampering with stored rows directly, as an attacker with database access would, on SQLite and
PostgreSQL: `audit verify` must catch every change and name the event."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from psycopg import sql

from domain.application import Wharfinger
from domain.values import Role
from eventstore.location import StoreLocation
from eventstore.open import events_table, open_log
from eventstore.side_tables import SideTables
from eventstore.signed_note import Signer
from eventstore.tlog import TransparencyLog
from eventstore.verify import verify_log
from tests.web.test_cli import cli_env
from web.cli import main
from web.settings import Settings

SIGNER = Signer("wharfinger.test/wharfinger", Ed25519PrivateKey.generate())
Row = tuple[Any, int, str, bytes]


class Attacker:
    """Raw SQL on the events table, with the immutability triggers dropped first."""

    def __init__(self, location: StoreLocation, table: str) -> None:
        self.location = location
        self.table = table

    @contextmanager
    def _sqlite(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.location.sqlite_path("events"))
        try:
            for op in ("update", "delete"):
                conn.execute(f"DROP TRIGGER IF EXISTS {self.table}_no_{op}")
            yield conn
            conn.commit()
        finally:
            conn.close()

    @contextmanager
    def _pg(self) -> Iterator[psycopg.Connection[Any]]:
        assert self.location.postgres is not None
        with psycopg.connect(self.location.postgres.conninfo()) as conn:
            target = sql.Identifier(self.location.postgres.schema, self.table)
            for name in ("no_rewrite", "no_truncate"):
                conn.execute(sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(
                    sql.Identifier(f"{self.table}_{name}"), target))
            yield conn

    def _t(self) -> sql.Composable:
        assert self.location.postgres is not None
        return sql.Identifier(self.location.postgres.schema, self.table)

    def row(self, position: int) -> Row:
        if self.location.postgres is None:
            with self._sqlite() as conn:
                r = conn.execute(f"SELECT originator_id, originator_version, topic, state FROM"  # noqa: S608
                                 f" {self.table} WHERE rowid = ?", (position,)).fetchone()
        else:
            with self._pg() as conn:
                r = conn.execute(sql.SQL(
                    "SELECT originator_id, originator_version, topic, state FROM {}"
                    " WHERE notification_id = %s").format(self._t()), (position,)).fetchone()
        assert r is not None
        return r[0], r[1], r[2], bytes(r[3])

    @staticmethod
    def uid(raw: Any) -> str:
        """The event's id as the library hands it out (SQLite stores it without dashes)."""
        return str(UUID(str(raw)))

    def execute(self, sqlite_text: str, pg_text: str, params: tuple[Any, ...]) -> None:
        if self.location.postgres is None:
            with self._sqlite() as conn:
                conn.execute(sqlite_text.format(t=self.table), params)
        else:
            with self._pg() as conn:
                conn.execute(sql.SQL(pg_text).format(t=self._t()), params)

    def modify(self, position: int) -> None:
        state = self.row(position)[3]
        changed = state.replace(b'"viewer"', b'"owner"') if b'"viewer"' in state else \
            state + b" "
        self.execute("UPDATE {t} SET state = ? WHERE rowid = ?",
                     "UPDATE {t} SET state = %s WHERE notification_id = %s", (changed, position))

    def delete(self, position: int) -> None:
        self.execute("DELETE FROM {t} WHERE rowid = ?",
                     "DELETE FROM {t} WHERE notification_id = %s", (position,))

    def put(self, position: int, row: Row) -> None:
        self.execute("INSERT INTO {t} (rowid, originator_id, originator_version, topic, state)"
                     " VALUES (?, ?, ?, ?, ?)",
                     "INSERT INTO {t} (notification_id, originator_id, originator_version, topic,"
                     " state) VALUES (%s, %s, %s, %s, %s)", (position, *row))

    def insert_before(self, position: int) -> str:
        """Make room at `position` by moving every later event up, and forge an event there."""
        self.execute("UPDATE {t} SET rowid = rowid + 1000 WHERE rowid >= ?",
                     "UPDATE {t} SET notification_id = notification_id + 1000"
                     " WHERE notification_id >= %s", (position,))
        _, _, topic, state = self.row(position + 1000)
        forged = str(uuid4())
        self.put(position, (forged, 1, topic, state))
        return forged

    def swap(self, a: int, b: int) -> None:
        row_a, row_b = self.row(a), self.row(b)
        self.delete(a)
        self.delete(b)
        self.put(a, row_b)
        self.put(b, row_a)


@pytest.fixture
def sealed(location: StoreLocation) -> tuple[StoreLocation, str, int]:
    """A log of ~30 events under a signed checkpoint, plus two events not yet sealed."""
    store = open_log(location, Wharfinger, "events")
    try:
        store.register_registry(name="main", hostname="registry.test")
        ids = [store.register_user(username=f"user{i}", email=f"u{i}@example.org",
                                   password_hash=None).id for i in range(4)]
        team = store.create_team(name="web", owner_id=ids[0])
        for uid in ids[1:]:
            store.add_member(team.id, uid, Role.VIEWER)
        TransparencyLog(SideTables(location), store, "events", "wharfinger.test/wharfinger/events"
                        ).make_checkpoint(SIGNER)
        store.change_member_role(team.id, ids[1], Role.CONTRIBUTOR)
        table = events_table(store)
    finally:
        store.close()
    return location, table, 20


def verify(location: StoreLocation) -> Any:
    store = open_log(location, Wharfinger, "events")
    try:
        tlog = TransparencyLog(SideTables(location), store, "events",
                               "wharfinger.test/wharfinger/events")
        return verify_log(tlog, SIGNER.verifier)
    finally:
        store.close()


def kinds(report: Any) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for p in report.problems:
        out.setdefault(p.kind, []).append(p)
    return out


def test_an_untouched_log_verifies(sealed: tuple[StoreLocation, str, int]) -> None:
    report = verify(sealed[0])
    assert report.ok, report.problems
    assert report.sealed == report.checkpoint_size == report.events - 1
    assert report.unsealed == 1


def test_a_modified_event_is_named(sealed: tuple[StoreLocation, str, int]) -> None:
    location, table, position = sealed
    attacker = Attacker(location, table)
    oid, version, _, _ = attacker.row(position)
    attacker.modify(position)
    found = kinds(verify(location))
    [modified] = found["modified"]
    assert (modified.position, modified.originator_id, modified.version) == (
        position, Attacker.uid(oid), version)
    assert "checkpoint" in found  # the stored log no longer hashes to the signed root
    assert set(found) == {"modified", "checkpoint"}


def test_a_deleted_event_is_named(sealed: tuple[StoreLocation, str, int]) -> None:
    location, table, position = sealed
    attacker = Attacker(location, table)
    oid, version, _, _ = attacker.row(position)
    attacker.delete(position)
    found = kinds(verify(location))
    [deleted] = found["deleted"]
    assert (deleted.position, deleted.originator_id, deleted.version) == (
        position, Attacker.uid(oid), version)
    assert set(found) == {"deleted", "checkpoint"}


def test_an_inserted_event_is_named(sealed: tuple[StoreLocation, str, int]) -> None:
    location, table, position = sealed
    forged = Attacker(location, table).insert_before(position)
    found = kinds(verify(location))
    [inserted] = found["inserted"]
    assert (inserted.position, inserted.originator_id) == (position, forged)
    assert set(found) == {"inserted", "checkpoint"}


def test_swapped_events_are_named(sealed: tuple[StoreLocation, str, int]) -> None:
    location, table, position = sealed
    attacker = Attacker(location, table)
    first, second = attacker.row(position - 5), attacker.row(position)
    attacker.swap(position - 5, position)
    found = kinds(verify(location))
    moved = {(p.originator_id, p.position) for p in found["reordered"]}
    assert moved & {(Attacker.uid(first[0]), position),
                    (Attacker.uid(second[0]), position - 5)}
    assert set(found) == {"reordered", "checkpoint"}


def test_a_rewritten_seal_record_is_caught_by_the_signature(
        sealed: tuple[StoreLocation, str, int]) -> None:
    """An attacker who edits an event and the side tables alike still cannot re-sign."""
    location, table, position = sealed
    Attacker(location, table).modify(position)
    side = SideTables(location)
    with side.transaction() as cur:
        for name in ("tlog_leaves", "tlog_nodes", "tlog_checkpoints"):
            cur.execute(side.render("DELETE FROM {t:" + name + "}"))  # noqa: S608
    store = open_log(location, Wharfinger, "events")
    try:
        forger = Signer(SIGNER.name, Ed25519PrivateKey.generate())
        TransparencyLog(side, store, "events", "wharfinger.test/wharfinger/events"
                        ).make_checkpoint(forger)
    finally:
        store.close()
    found = kinds(verify(location))
    assert found["checkpoint"][0].detail.startswith("checkpoint of size")
    assert "unanchored" in found


def test_cli_verify_names_the_event_and_exits_non_zero(
        settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    env = cli_env(settings)
    store = open_log(StoreLocation.from_settings(settings.data_dir, settings.database_url),
                     Wharfinger, "events")
    try:
        for i in range(5):
            store.register_user(username=f"user{i}", email=f"u{i}@example.org",
                                password_hash=None)
        table = events_table(store)
    finally:
        store.close()
    assert main(["audit", "checkpoint"], env) == 0
    assert "wharfinger.test/wharfinger/events\n" in capsys.readouterr().out
    assert main(["audit", "verify"], env) == 0
    out = capsys.readouterr()
    assert "The logs are intact." in out.out and "events read" in out.err
    location = StoreLocation.from_settings(settings.data_dir, settings.database_url)
    attacker = Attacker(location, table)
    oid = Attacker.uid(attacker.row(3)[0])
    attacker.modify(3)
    assert main(["audit", "verify", "--json", "--log", "events", "--quiet"], env) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    problems = report["logs"][0]["problems"]
    assert {"kind": "modified", "position": 3, "originator_id": oid}.items() <= \
        next(p for p in problems if p["kind"] == "modified").items()
    assert main(["audit", "verify", "--quiet"], env) == 1
    out_text = capsys.readouterr().out
    assert f"MODIFIED: event {oid} v1 at position 3" in out_text
    assert "TAMPERING DETECTED" in out_text


def test_a_sealing_deadline_signs_the_prefix_sealed_by_then(
        sealed: tuple[StoreLocation, str, int]) -> None:
    """What a stopping node does with a long unsealed tail (web.services._seal_at_shutdown)."""
    location = sealed[0]
    store = open_log(location, Wharfinger, "events")
    try:
        tlog = TransparencyLog(SideTables(location), store, "events",
                               "wharfinger.test/wharfinger/events")
        before = tlog.size()
        past = time.monotonic() - 1
        assert tlog.make_checkpoint(SIGNER, until=past).size == before  # nothing more sealed
        later = tlog.make_checkpoint(SIGNER, until=time.monotonic() + 60)
        assert later.size == before + 1  # the unsealed event
    finally:
        store.close()
    report = verify(location)
    assert report.ok and report.unsealed == 0
