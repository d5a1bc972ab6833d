"""The audit trail: a second log for facts, on both backends, with idempotent intake."""

from __future__ import annotations

from uuid import NAMESPACE_URL, uuid5

from domain.actors import acting_as
from domain.audit_trail import AuditTrail
from domain.facts import Fact
from eventstore.location import StoreLocation
from eventstore.open import open_log
from eventstore.reader import read_after


class SomethingObserved(Fact):
    what: str


def test_facts_are_recorded_with_actor_and_once_by_id(location: StoreLocation) -> None:
    trail = open_log(location, AuditTrail, "audit")
    try:
        with acting_as("registry"):
            position = trail.record(SomethingObserved.new(what="a"),
                                    SomethingObserved.new(what="b"))
        assert position == 2
        fact_id = uuid5(NAMESPACE_URL, "registry-event-1")
        assert trail.record_once(SomethingObserved.new(fact_id=fact_id, what="c"))
        assert not trail.record_once(SomethingObserved.new(fact_id=fact_id, what="c"))
        logged = read_after(trail, 0)
        assert [e.event.what for e in logged] == ["a", "b", "c"]
        assert logged[0].event.actor == "registry"
    finally:
        trail.close()
