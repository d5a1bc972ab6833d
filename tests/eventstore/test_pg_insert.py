"""Every log's recorder inserts rows as the library's does (both backends): positions in order,
the bytes read back exactly, a conflicting row failing the whole batch. On PostgreSQL the rows go
as binary arrays (eventstore.pg_insert), still under the library's table lock and with its
NOTIFY to other nodes' followers."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg import sql

from eventstore.location import StoreLocation
from eventstore.open import events_table, open_log
from eventstore.pg_insert import ArrayInsertRecorder


class Log(Application[uuid.UUID]):
    name = "rows"


@pytest.fixture
def log(location: StoreLocation) -> Iterator[Log]:
    app = open_log(location, Log, "rows")
    yield app
    app.close()


def rows(count: int, *, version: int = 1) -> list[StoredEvent]:
    # States a text encoding would have to escape: NUL, backslashes, quotes, braces, commas,
    # bytes that are not UTF-8, and an empty one.
    awkward = [b"", b"\x00\\x00", b'{"a":"b,c"}', b"\xff\xfe'\"\\", bytes(range(256))]
    return [StoredEvent(originator_id=uuid.uuid4(), originator_version=version,
                        topic=f"tests.rows:Row{n}.Happened", state=awkward[n % len(awkward)])
            for n in range(count)]


def test_positions_in_order_and_every_byte_read_back(log: Log, location: StoreLocation) -> None:
    recorder = log.recorder
    if location.postgres is None:
        assert isinstance(recorder, SQLiteApplicationRecorder)
    else:
        assert isinstance(recorder, ArrayInsertRecorder)
    first = rows(7)
    positions = recorder.insert_events(first)
    assert positions is not None and len(positions) == 7
    assert positions == list(range(positions[0], positions[0] + 7))
    second = rows(300, version=4)  # more than one of anything's usual batch
    more = recorder.insert_events(second)
    assert more is not None and more[0] == positions[-1] + 1 and len(more) == 300
    stored = recorder.select_notifications(start=0, limit=1000)
    assert [(n.id, n.originator_id, n.originator_version, n.topic, n.state) for n in stored] == [
        (p, r.originator_id, r.originator_version, r.topic, r.state)
        for p, r in zip([*positions, *more], [*first, *second], strict=True)]
    for row in first:
        (event,) = recorder.select_events(row.originator_id)
        assert event.state == row.state and event.originator_version == 1


def test_a_row_the_store_already_has_fails_the_whole_batch(log: Log) -> None:
    recorder = log.recorder
    taken = rows(2)
    recorder.insert_events(taken)
    fresh = rows(3)
    with pytest.raises(IntegrityError):
        recorder.insert_events([fresh[0], taken[1], fresh[1]])
    # None of that batch was stored, and the recorder goes on.
    assert [n.originator_id for n in recorder.select_notifications(start=0, limit=10)] == [
        r.originator_id for r in taken]
    assert recorder.insert_events(fresh)
    assert len(recorder.select_notifications(start=0, limit=10)) == 5


def test_other_nodes_hear_of_new_rows(log: Log, location: StoreLocation) -> None:
    if location.postgres is None:
        # SQLite's recorder (9.5.6) has no subscriptions: followers poll the file.
        assert not isinstance(log.recorder, PostgresApplicationRecorder)
        with pytest.raises(NotImplementedError):
            log.recorder.subscribe(gt=0)
        return
    recorder = log.recorder
    assert isinstance(recorder, ArrayInsertRecorder)
    (start,) = recorder.insert_events(rows(1)) or [0]
    heard: list[int] = []
    with recorder.subscribe(gt=start) as subscription:
        # LISTEN first, then the insert's NOTIFY wakes it (the subscription reads what's new).
        written = recorder.insert_events(rows(2))
        for notification in subscription:
            heard.append(notification.id)
            if len(heard) == 2:
                break
    assert heard == written


def test_an_insert_takes_the_table_lock(log: Log, location: StoreLocation) -> None:
    """Positions are drawn at insert and become visible at commit: without the lock a later
    transaction could commit first, and a follower that read its rows would pass over the
    earlier one's forever. Another writer (ROW EXCLUSIVE, which a bare INSERT also takes and
    which does not block another bare INSERT) makes our insert wait until it commits."""
    if location.postgres is None:
        # SQLite has one writer at a time by construction: a second BEGIN IMMEDIATE waits.
        assert isinstance(log.recorder, SQLiteApplicationRecorder)
        return
    table = sql.Identifier(location.postgres.schema, events_table(log))
    done = threading.Event()
    with psycopg.connect(location.postgres.conninfo()) as other:
        other.execute(sql.SQL("LOCK TABLE {} IN ROW EXCLUSIVE MODE").format(table))
        writer = threading.Thread(target=lambda: (log.recorder.insert_events(rows(1)),
                                                  done.set()))
        writer.start()
        time.sleep(0.5)
        assert not done.is_set()  # waiting for the other transaction
        other.commit()
    writer.join(10)
    assert done.is_set()
