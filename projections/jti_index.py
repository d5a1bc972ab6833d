"""Tokens by `jti`: a side table mapping each token's id to its decision record's place in the
audit trail, so explaining a token is one key lookup, not a scan of every record ever written.

Derived data (eventstore.side_tables): rows are added by folding the audit trail in order from
the table's own high-water mark, in the background and before every lookup (so a lookup never
misses a record that is already in the log), and the whole table can be dropped and rebuilt from
the log at any time. Any fact with a non-empty `jti` is indexed; the first record of a `jti` wins,
as the scan it replaces returned the first.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Notification
from eventsourcing.utils import resolve_topic

from eventstore.reader import LoggedEvent, read_after
from eventstore.side_tables import SideTables

DDL = ("CREATE TABLE IF NOT EXISTS {t:token_jti} (jti TEXT PRIMARY KEY,"
       " position INTEGER NOT NULL)",
       "CREATE TABLE IF NOT EXISTS {t:token_jti_head} (id INTEGER PRIMARY KEY,"
       " position INTEGER NOT NULL)")


class JtiIndex:
    def __init__(self, side: SideTables, audit: Application[UUID]) -> None:
        self._side = side
        self._audit = audit
        self._created = False
        self._has_jti: dict[str, bool] = {}
        """topic → whether its class has a `jti` field (only those records are decoded)."""

    def _ensure_tables(self) -> None:
        if not self._created:
            self._side.create(DDL)
            self._created = True

    def head(self) -> int:
        """The audit-trail position indexed up to."""
        self._ensure_tables()
        with self._side.transaction() as cur:
            cur.execute(self._side.render("SELECT position FROM {t:token_jti_head} WHERE id = 1"))
            row = cur.fetchone()
        return int(row[0]) if row else 0

    def catch_up(self, batch: int = 2000) -> int:
        """Index the records appended since the high-water mark (blocking); returns how many
        records were read."""
        position = self.head()
        read = 0
        while True:
            notifications = self._audit.recorder.select_notifications(
                start=position, limit=batch, inclusive_of_start=False)
            if not notifications:
                return read
            read += len(notifications)
            rows = [(jti, n.id) for n in notifications if (jti := self._jti(n))]
            position = notifications[-1].id
            self._write(rows, position)
            if len(notifications) < batch:
                return read

    def _jti(self, notification: Notification) -> str:
        """The record's `jti` ("" if none), decoding only records of classes that have one:
        with the plain JSON transcoder a top-level key is read straight from the stored state,
        which costs a fraction of building the event object."""
        has = self._has_jti.get(notification.topic)
        if has is None:
            cls: Any = resolve_topic(notification.topic)
            has = self._has_jti[notification.topic] = dataclasses.is_dataclass(cls) and any(
                f.name == "jti" for f in dataclasses.fields(cls))
        if not has:
            return ""
        mapper = self._audit.mapper
        if mapper.cipher is None and mapper.compressor is None:
            value = json.loads(notification.state).get("jti")
        else:
            value = getattr(mapper.to_domain_event(notification), "jti", None)
        return value if isinstance(value, str) else ""

    def _write(self, rows: list[tuple[str, int]], position: int) -> None:
        # Several nodes may index the same records: the rows are determined by the log, and the
        # high-water mark only moves forward.
        with self._side.transaction() as cur:
            if rows:
                cur.executemany(self._side.render(
                    "INSERT INTO {t:token_jti} (jti, position) VALUES (?, ?)"
                    " ON CONFLICT (jti) DO UPDATE SET position = excluded.position"
                    " WHERE excluded.position < {t:token_jti}.position"), rows)
            cur.execute(self._side.render(
                "INSERT INTO {t:token_jti_head} (id, position) VALUES (1, ?)"
                " ON CONFLICT (id) DO UPDATE SET position = excluded.position"
                " WHERE excluded.position > {t:token_jti_head}.position"), (position,))

    def find(self, jti: str) -> LoggedEvent | None:
        """The first audit-trail record carrying this `jti`, or None (blocking)."""
        self.catch_up()
        with self._side.transaction() as cur:
            cur.execute(self._side.render("SELECT position FROM {t:token_jti} WHERE jti = ?"),
                        (jti,))
            row = cur.fetchone()
        if row is None:
            return None
        found = read_after(self._audit, int(row[0]) - 1, 1)
        return found[0] if found and found[0].position == int(row[0]) else None

    def rebuild(self) -> int:
        """Drop every row and index the whole audit trail again; returns records read."""
        self._ensure_tables()
        with self._side.transaction() as cur:
            cur.execute(self._side.render("DELETE FROM {t:token_jti}"))
            cur.execute(self._side.render("DELETE FROM {t:token_jti_head}"))
        return self.catch_up()
