"""Reading the log in order: the positions and decoded events every projection folds over."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from eventstore.pg_insert import RecentRows


@dataclass(frozen=True)
class LoggedEvent:
    position: int
    """The notification id: the event's place in the log's total order."""
    event: Any


class PassedOver:
    """The event of a `LoggedEvent` that marks a position read up to, where nothing of the
    topics asked for was found: folds skip it (it is no fact), followers move past it."""

    def __repr__(self) -> str:
        return "PassedOver()"


PASSED_OVER = PassedOver()


def read_after(app: Application[UUID], position: int, limit: int = 1000,
               topics: Sequence[str] = (), *, follower: bool = False) -> list[LoggedEvent]:
    """Up to `limit` events after `position`, in log order. Blocking.

    With `topics`, only those; and when fewer than `limit` match, a last `PASSED_OVER` entry
    at the log's head says everything up to there was read. Without it a follower of a few
    topics (pulls, in a trail of token decisions) would stay at its last match and scan every
    later row again at each poll, a scan that grows with the trail.

    `follower`: the caller reads again whenever it is woken (NOTIFY) or polls, so a short batch
    need not mean the log ends there: rows this node appended itself come from memory
    (eventstore.pg_insert.RecentRows), and other nodes' later rows at the next read. Folds
    that stop at the first short batch (a replay to a time or a position) leave it False."""
    recorder = app.recorder
    to_event = app.mapper.to_domain_event
    recent: RecentRows | None = getattr(recorder, "recent", None) if follower else None
    known = recent.after(position, limit, topics) if recent is not None else None
    if known is not None:
        rows, last = known
        found = [LoggedEvent(at, to_event(row)) for at, row in rows]
        if topics and len(found) < limit and (not found or found[-1].position < last):
            found.append(LoggedEvent(last, PASSED_OVER))
        return found
    if not topics:
        notifications = recorder.select_notifications(
            start=position, limit=limit, inclusive_of_start=False)
        return [LoggedEvent(n.id, to_event(n)) for n in notifications]
    # Rows become visible in position order (one writer at a time: SQLite's write lock, the
    # library's table lock on PostgreSQL), so nothing can appear below a head already read.
    head = recorder.max_notification_id() or 0
    if head <= position:
        return []
    notifications = recorder.select_notifications(
        start=position, stop=head, limit=limit, topics=topics, inclusive_of_start=False)
    found = [LoggedEvent(n.id, to_event(n)) for n in notifications]
    if len(found) < limit and (not found or found[-1].position < head):
        found.append(LoggedEvent(head, PASSED_OVER))
    return found


def head_position(app: Application[UUID]) -> int:
    return app.recorder.max_notification_id() or 0
