"""A follower's reads of rows its own node appended come from memory (eventstore.pg_insert.
RecentRows, PostgreSQL), and read on from the database wherever another node's rows or a gap
come between: read to the end, a follower sees exactly what the database holds, in order (both
backends; on SQLite every read is the database's)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.utils import get_topic

from domain.audit_trail import AuditTrail
from domain.decisions import example
from domain.repositories import ManifestPulled
from eventstore.location import StoreLocation
from eventstore.open import open_log
from eventstore.pg_insert import RecentRows
from eventstore.reader import PASSED_OVER, head_position, read_after
from tests.audit_facts import pull

PULLS = (get_topic(ManifestPulled),)


@pytest.fixture
def nodes(location: StoreLocation) -> Iterator[tuple[AuditTrail, AuditTrail]]:
    one = open_log(location, AuditTrail, "audit")
    other = open_log(location, AuditTrail, "audit")
    yield one, other
    other.close()
    one.close()


def drain(app: AuditTrail, *, limit: int, topics: tuple[str, ...] = (),
          follower: bool) -> tuple[list[tuple[int, object]], int]:
    """Read as a follower does, from the start until nothing new: what it saw, where it got."""
    position, seen = 0, []
    while True:
        batch = read_after(app, position, limit, topics, follower=follower)
        if not batch:
            return seen, position
        assert batch[-1].position > position
        seen += [(logged.position, logged.event) for logged in batch
                 if logged.event is not PASSED_OVER]
        position = batch[-1].position


def test_a_follower_sees_what_the_database_holds(
        nodes: tuple[AuditTrail, AuditTrail], location: StoreLocation) -> None:
    one, other = nodes
    n = 0
    for round_ in range(6):
        # This node's appends, another node's in between, and a failed append (on PostgreSQL
        # it leaves a gap in the positions).
        one.record(*(pull(n + i) for i in range(3)), example())
        n += 3
        if round_ % 2:
            other.record(pull(1000 + round_), example())
        if round_ == 3:
            taken = one.recorder.select_notifications(start=0, limit=1)[0]
            with pytest.raises(IntegrityError):
                one.recorder.insert_events([StoredEvent(
                    originator_id=uuid.uuid4(), originator_version=1, topic=taken.topic,
                    state=taken.state), taken])
        one.record(pull(n))
        n += 1
        for limit in (1, 2, 5, 1000):
            for topics in ((), PULLS):
                truth = drain(other, limit=limit, topics=topics, follower=False)
                assert drain(one, limit=limit, topics=topics, follower=True) == truth
                assert truth[1] == head_position(one)
    if location.postgres is not None:
        assert one.recorder.recent is not None
    else:
        assert getattr(one.recorder, "recent", None) is None


def test_the_rows_a_node_just_appended_are_read_without_a_round_trip(
        nodes: tuple[AuditTrail, AuditTrail], location: StoreLocation,
        monkeypatch: pytest.MonkeyPatch) -> None:
    one, other = nodes
    other.record(pull(0))
    start = head_position(one)
    last = one.record(pull(1), pull(2), example())
    reads: list[str] = []
    recorder = one.recorder
    for name in ("select_notifications", "max_notification_id"):
        read = getattr(recorder, name)
        monkeypatch.setattr(recorder, name,
                            lambda *a, _read=read, _name=name, **k: (reads.append(_name),
                                                                     _read(*a, **k))[1])
    everything = read_after(one, start, 100, follower=True)
    pulls = read_after(one, start, 100, PULLS, follower=True)
    assert [e.position for e in everything] == list(range(start + 1, last + 1))
    assert [type(e.event) for e in pulls][-1] is type(PASSED_OVER)
    assert pulls[-1].position == last and len(pulls) == 3
    if location.postgres is not None:
        assert reads == []
        # Not as a follower (a replay stops at its first short batch): the database.
        read_after(one, start, 100)
        assert reads == ["select_notifications"]
    else:
        assert reads == ["select_notifications", "max_notification_id", "select_notifications"]


def row(n: int, topic: str = "t:A") -> StoredEvent:
    return StoredEvent(originator_id=uuid.uuid4(), originator_version=1, topic=topic,
                       state=str(n).encode())


def test_recent_rows_answer_only_unbroken_runs_up_to_the_newest() -> None:
    recent = RecentRows(capacity=6)
    first = [row(1), row(2, "t:B"), row(3)]
    recent.add([11, 12, 13], first)
    assert recent.after(10, 10) == ([(11, first[0]), (12, first[1]), (13, first[2])], 13)
    assert recent.after(10, 2) == ([(11, first[0]), (12, first[1])], 12)
    assert recent.after(10, 10, ["t:B"]) == ([(12, first[1])], 13)
    assert recent.after(13, 10) is None  # nothing new here: only the database can say
    assert recent.after(9, 10) is None  # position 10 is not known here
    later = [row(4), row(5)]
    recent.add([15, 16], later)  # 14: another node's, or a gap
    assert recent.after(10, 10) is None
    assert recent.after(10, 3) == ([(11, first[0]), (12, first[1]), (13, first[2])], 13)
    assert recent.after(14, 10) == ([(15, later[0]), (16, later[1])], 16)
    recent.add([17, 18, 19], [row(6), row(7), row(8)])  # capacity 6: 11 and 12 go
    assert recent.after(10, 10) is None and recent.after(11, 1) is None
    assert recent.after(12, 1) == ([(13, first[2])], 13)
