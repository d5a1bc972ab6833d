"""A named lock in the store: one holder at a time across every process and node sharing it.

PostgreSQL: a session advisory lock (`pg_try_advisory_lock`) on a connection of its own, held
until released or until that connection ends (a crashed holder frees it). SQLite: `flock` on a
file beside the database in the data directory, freed the same way when the process ends. A
holder leaves a note (who, since when) that others read to say who holds the lock, and at
release a note of how it ended; the notes live in a side table (eventstore.side_tables).
Blocking: call it from the thread pool, never on the event loop.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from typing import Any, Protocol

import psycopg

from eventstore.location import StoreLocation
from eventstore.side_tables import SideTables

Note = dict[str, Any]

DDL = ("CREATE TABLE IF NOT EXISTS {t:lock_notes} (name TEXT PRIMARY KEY, pid INTEGER,"
       " holder TEXT, last TEXT)",)

# The first key of every Wharfinger advisory lock taken here ("WhFr"); the second names the
# schema and the lock, so stores in other schemas of the database never collide.
PG_CLASS_KEY = 0x57684672


class Held(Protocol):
    def release(self, last: Note | None = None) -> None:
        """Let the next holder in; `last` (when given) is left for others to read."""


class StoreLock:
    """`try_hold` never waits; `holder` tells who holds the lock now (None when free, an empty
    note while the holder has not written its note yet); `last` reads the note the last holder
    left at release."""

    def __init__(self, location: StoreLocation, name: str) -> None:
        self.location = location
        self.name = name
        self._side = SideTables(location)
        self._created = False

    def try_hold(self, note: Note) -> Held | None:
        self._create()
        if self.location.postgres is None:
            return self._try_flock(note)
        return self._try_advisory(note)

    def holder(self) -> Note | None:
        self._create()
        if self.location.postgres is None:
            probe = self._lock_file(fcntl.LOCK_SH)
            if probe is not None:
                os.close(probe)  # nobody holds it
                return None
            with self._side.transaction() as cur:
                cur.execute(self._side.render("SELECT holder FROM {t:lock_notes} WHERE name = ?"),
                            (self.name,))
                row = cur.fetchone()
            return _parsed(row[0] if row else None) or {}
        with self._side.transaction() as cur:
            cur.execute(self._side.render(
                        "SELECT n.holder FROM pg_locks l LEFT JOIN {t:lock_notes} n"
                        "  ON n.name = ? AND n.pid = l.pid"
                        " WHERE l.locktype = 'advisory' AND l.granted"
                        "  AND l.database = (SELECT oid FROM pg_database"
                        "                    WHERE datname = current_database())"
                        "  AND l.classid = ? AND l.objid = ? AND l.objsubid = 2"),
                        (self.name, PG_CLASS_KEY, self._object_key()))
            row = cur.fetchone()
        if row is None:
            return None
        return _parsed(row[0]) or {}

    def last(self) -> Note | None:
        self._create()
        with self._side.transaction() as cur:
            cur.execute(self._side.render("SELECT last FROM {t:lock_notes} WHERE name = ?"),
                        (self.name,))
            row = cur.fetchone()
        return _parsed(row[0] if row else None)

    def _create(self) -> None:
        if not self._created:
            self._side.create(DDL)
            self._created = True

    def _object_key(self) -> int:
        assert self.location.postgres is not None
        digest = hashlib.blake2b(f"{self.location.postgres.schema}:{self.name}".encode(),
                                 digest_size=4).digest()
        return int.from_bytes(digest, "big") & 0x7FFFFFFF

    # SQLite: flock on a file of its own (the databases' own locks are SQLite's business).

    def _lock_file(self, mode: int) -> int | None:
        self.location.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.location.data_dir / f"{self.name}.lock",
                     os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _try_flock(self, note: Note) -> Held | None:
        fd = self._lock_file(fcntl.LOCK_EX)
        if fd is None:
            return None
        try:
            self._write_note(note, pid=os.getpid())
        except BaseException:
            os.close(fd)
            raise
        return _FlockHeld(self, fd)

    def _write_note(self, note: Note, *, pid: int) -> None:
        with self._side.transaction() as cur:
            cur.execute(self._side.render(
                "INSERT INTO {t:lock_notes} (name, pid, holder) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET pid = excluded.pid, holder = excluded.holder"),
                        (self.name, pid, json.dumps(note)))

    def _leave_note(self, last: Note | None) -> None:
        with self._side.transaction() as cur:
            if last is None:
                cur.execute(self._side.render(
                    "UPDATE {t:lock_notes} SET pid = NULL, holder = NULL WHERE name = ?"),
                    (self.name,))
            else:
                cur.execute(self._side.render(
                    "UPDATE {t:lock_notes} SET pid = NULL, holder = NULL, last = ?"
                    " WHERE name = ?"), (json.dumps(last), self.name))

    # PostgreSQL: the lock lives as long as the session holding it.

    def _try_advisory(self, note: Note) -> Held | None:
        assert self.location.postgres is not None
        conn = psycopg.connect(self.location.postgres.conninfo(), autocommit=True)
        try:
            row = conn.execute("SELECT pg_try_advisory_lock(%s, %s), pg_backend_pid()",
                               (PG_CLASS_KEY, self._object_key())).fetchone()
            if row is None or not row[0]:
                conn.close()
                return None
            # The note names this session: `holder` only believes a note whose session holds
            # the lock, never one a crashed holder left behind.
            self._write_note(note, pid=int(row[1]))
        except BaseException:
            conn.close()
            raise
        return _AdvisoryHeld(self, conn)


class _FlockHeld:
    def __init__(self, lock: StoreLock, fd: int) -> None:
        self._lock, self._fd = lock, fd

    def release(self, last: Note | None = None) -> None:
        if self._fd < 0:
            return
        try:
            self._lock._leave_note(last)
        finally:
            os.close(self._fd)  # closing the only descriptor releases the flock
            self._fd = -1


class _AdvisoryHeld:
    def __init__(self, lock: StoreLock, conn: psycopg.Connection[Any]) -> None:
        self._lock, self._conn = lock, conn

    def release(self, last: Note | None = None) -> None:
        if self._conn.closed:
            return
        try:
            self._lock._leave_note(last)
        finally:
            # Ending the session ends its advisory locks, even if the unlock cannot be sent.
            with contextlib.suppress(psycopg.Error):
                self._conn.execute("SELECT pg_advisory_unlock(%s, %s)",
                                   (PG_CLASS_KEY, self._lock._object_key()))
            self._conn.close()


def _parsed(text: str | None) -> Note | None:
    if not text:
        return None
    try:
        found = json.loads(text)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None
