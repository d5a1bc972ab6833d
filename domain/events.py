"""Base classes of Wharfinger's events: past-tense facts that carry their actor and time.

Every aggregate's events derive from `Event` (or `Created` for the first event), so no fact can be
recorded without saying who caused it. The time is the library's `timestamp` (UTC).
"""

from __future__ import annotations

from dataclasses import field

from eventsourcing.domain import Aggregate

from domain.actors import current_actor


class Event(Aggregate.Event):
    actor: str = field(default_factory=current_actor, kw_only=True)


class Created(Aggregate.Created):
    actor: str = field(default_factory=current_actor, kw_only=True)
