"""The audit trail: the second log, for high-volume facts (decisions, pulls, logins)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, StoredEvent

from domain.facts import Fact


class AuditTrail(Application[UUID]):
    name = "audit"

    def record(self, *facts: Fact) -> int:
        """Append facts in one transaction; returns the log position of the last one."""
        recordings = self.save(*facts)
        return recordings[-1].notification.id if recordings else 0

    def encode(self, fact: Fact) -> StoredEvent:
        """A fact as the row it will be stored as: pure CPU, no I/O. The group commit encodes on
        the caller's thread so the writer thread holds the GIL as briefly as possible."""
        return self.mapper.to_stored_event(fact)

    def record_encoded(self, stored: Sequence[StoredEvent]) -> int:
        """Append encoded facts in one transaction (what `save` does for facts, without the
        aggregate bookkeeping they do not need); returns the position of the last one."""
        ids = self.recorder.insert_events(list(stored))
        return ids[-1] if ids else 0

    def record_once(self, fact: Fact) -> bool:
        """Append a fact whose id is derived from an outside identifier; False if it was
        recorded before (a redelivered notification, say)."""
        try:
            self.save(fact)
        except IntegrityError:
            if self.recorder.select_events(fact.originator_id, limit=1):
                return False
            raise
        return True
