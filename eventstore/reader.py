"""Reading the log in order: the positions and decoded events every projection folds over."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.application import Application


@dataclass(frozen=True)
class LoggedEvent:
    position: int
    """The notification id: the event's place in the log's total order."""
    event: Any


def read_after(app: Application[UUID], position: int, limit: int = 1000,
               topics: Sequence[str] = ()) -> list[LoggedEvent]:
    """Up to `limit` events after `position`, in log order (only `topics`, if given). Blocking."""
    notifications = app.recorder.select_notifications(
        start=position, limit=limit, topics=topics, inclusive_of_start=False)
    to_event = app.mapper.to_domain_event
    return [LoggedEvent(n.id, to_event(n)) for n in notifications]


def head_position(app: Application[UUID]) -> int:
    return app.recorder.max_notification_id() or 0
