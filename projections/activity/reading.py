"""Reading a log for the feed: a record the feed ignores is not decoded at all.

The mapper turns a stored row into an event object (JSON parsing, then the object): most of a
rebuild's time. A record the feed ignores and the `Directory` does not fold (name claims,
registry receipts: a fifth of a generated history, bench.feed) needs only its position, so the
reader passes it on as `SKIPPED` without decoding it; every other record is decoded by the
mapper, as every projection reads it (eventstore.reader).

Decoding the audit trail's facts with a plain `json.loads` instead of the mapper was measured
and is no faster: parsing the JSON is most of the mapper's cost (a decision record: 4.1 µs to
parse, 5.6 µs to parse and build the event, best of 40 runs).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.utils import TopicError, resolve_topic

from eventstore.reader import LoggedEvent
from projections.activity.entries import describes, folds


class _Skipped:
    def __repr__(self) -> str:
        return "SKIPPED"


SKIPPED: Any = _Skipped()
"""The event of a record nobody needs: `ActivityProjector.project` passes over it."""


class LogReader:
    """`read_after` for the feed: one log's records in order, SKIPPED where not needed."""

    def __init__(self, app: Application[UUID]) -> None:
        self._app = app
        self._skipped: dict[str, bool] = {}
        """topic -> whether its records are skipped (looked up once per topic)."""

    def read_after(self, position: int, limit: int) -> list[LoggedEvent]:
        """Up to `limit` records after `position`, in log order. Blocking."""
        notifications = self._app.recorder.select_notifications(
            start=position, limit=limit, inclusive_of_start=False)
        skipped, to_event = self._skipped, self._app.mapper.to_domain_event
        batch = []
        for n in notifications:
            skip = skipped.get(n.topic)
            if skip is None:
                skip = skipped[n.topic] = _needless(n.topic)
            batch.append(LoggedEvent(n.id, SKIPPED if skip else to_event(n)))
        return batch


def _needless(topic: str) -> bool:
    try:
        kind = resolve_topic(topic)
    except TopicError:  # the mapper raises it, as it did before
        return False
    return not describes(kind) and not folds(kind)
