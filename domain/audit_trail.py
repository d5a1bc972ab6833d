"""The audit trail: the second log, for high-volume facts (decisions, pulls, logins)."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError

from domain.facts import Fact


class AuditTrail(Application[UUID]):
    name = "audit"

    def record(self, *facts: Fact) -> int:
        """Append facts in one transaction; returns the log position of the last one."""
        recordings = self.save(*facts)
        return recordings[-1].notification.id if recordings else 0

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
