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

    def record_new(self, stored: Sequence[StoredEvent]) -> tuple[list[bool], int]:
        """Append encoded facts whose ids derive from outside identifiers, in one transaction,
        each once: per fact True if appended now, False if it was recorded before (or earlier
        in `stored`); and the log position of the last one appended (0 if none).

        Optimistic: redeliveries are rare, so the batch is inserted as it is, and only when the
        store refuses a key are the ids looked up, the known ones dropped, and the rest retried
        (another node may be recording the same redelivery meanwhile: retried a few times)."""
        fresh: dict[object, StoredEvent] = {}
        new = []
        for event in stored:
            new.append(event.originator_id not in fresh)
            fresh.setdefault(event.originator_id, event)
        for _ in range(5):
            try:
                ids = self.recorder.insert_events(list(fresh.values()))
            except IntegrityError:
                known = {oid for oid in fresh
                         if self.recorder.select_events(oid, limit=1)}  # type: ignore[arg-type]
                if not known:
                    raise
                for i, event in enumerate(stored):
                    if event.originator_id in known:
                        new[i] = False
                fresh = {oid: e for oid, e in fresh.items() if oid not in known}
                continue
            return new, (ids[-1] if ids else 0)
        raise IntegrityError("facts kept conflicting with concurrent writers")

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
