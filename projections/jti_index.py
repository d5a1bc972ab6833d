"""Tokens by `jti`: finding a token's decision record in the audit trail with a key lookup, not
a scan of every record ever written.

A token issued since 2026-11-30 has its decision record's id as its `jti` (the record is
`jti == id.hex`), so it is found by the log's own primary key (eventstore.lookup) and needs no
index row: nothing has to read and decode the stream of decision records to keep up with it.
Any other fact carrying a `jti` (records written before, or another fact class) is found through
a side table mapping the `jti` to its record's place in the trail. That table is derived data
(eventstore.side_tables): rows are added by folding the audit trail in order from the table's
own high-water mark before every lookup that the id does not answer (so a lookup never misses a
record that is already in the log; nothing keeps it current in the background, where it would
read the whole stream of decision records), skipping self-identified records with a byte
comparison instead of decoding them, and it can be dropped and rebuilt from the log at any time.
The first record of a `jti` wins, as the scan it replaces returned the first.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Notification
from eventsourcing.utils import resolve_topic

from eventstore.lookup import find_fact
from eventstore.reader import LoggedEvent, read_after
from eventstore.side_tables import SideTables

_RECORD_ID_HEX = frozenset("0123456789abcdef")

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
        """The `jti` to index for this record ("" if none or if it is the record's own id),
        decoding only records of classes that have one: with the plain JSON transcoder a
        top-level key is read straight from the stored state, which costs a fraction of
        building the event object."""
        has = self._has_jti.get(notification.topic)
        if has is None:
            cls: Any = resolve_topic(notification.topic)
            has = self._has_jti[notification.topic] = dataclasses.is_dataclass(cls) and any(
                f.name == "jti" for f in dataclasses.fields(cls))
        if not has:
            return ""
        mapper = self._audit.mapper
        plain = mapper.cipher is None and mapper.compressor is None
        if plain and _self_identified(notification):
            return ""  # found by its id (find): the bulk of the trail, never decoded here
        if plain:
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
        if len(jti) == 32 and _RECORD_ID_HEX.issuperset(jti):
            stored = find_fact(self._audit, UUID(hex=jti))
            if stored is not None:
                event = self._audit.mapper.to_domain_event(stored)
                if getattr(event, "jti", None) == jti:
                    return LoggedEvent(stored.id, event)
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


def _self_identified(notification: Notification) -> bool:
    """Whether the stored state's `jti` is the record's own id. The byte string
    `"jti":"<32 hex>"` can only be a key and its value: inside a JSON string every quote is
    escaped. Another key of the same name deeper in the record (a nested dict) cannot carry the
    record's own random id by chance, so a record whose top-level `jti` differs is decoded."""
    originator = notification.originator_id
    hex_id = originator.hex if isinstance(originator, UUID) else str(originator)
    return f'"jti":"{hex_id}"'.encode() in notification.state
