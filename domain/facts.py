"""Facts that change no aggregate's state: token decisions, pulls, logins.

Each is its own one-event sequence (a fresh id, version 1), so recording one never conflicts with
another. They go to the audit trail, a log of their own, so their volume never slows the change
log that the permission projection follows (eventsourcing-notes.md §2, "Facts that are not state
changes").
"""

from __future__ import annotations

from dataclasses import field
from datetime import datetime
from typing import Any, Self
from uuid import UUID

from eventsourcing.domain import DomainEvent

from domain.actors import current_actor
from domain.ids import time_ordered_id


class Fact(DomainEvent):
    actor: str = field(default_factory=current_actor, kw_only=True)

    @classmethod
    def new(cls, *, fact_id: UUID | None = None, timestamp: datetime | None = None,
            **fields: Any) -> Self:
        """A fact with a fresh, time-ordered id (domain.ids: appends land on the log index's
        last pages), or a deterministic one, for idempotent intake."""
        return cls(originator_id=fact_id or time_ordered_id(), originator_version=1,
                   timestamp=timestamp or cls.create_timestamp(), **fields)
