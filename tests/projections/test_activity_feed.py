"""The activity feed's projector and store, on SQLite and PostgreSQL: sentences, both logs,
generic entries for unmapped events, exactly-once under a racing projector, keyset pages."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from uuid import uuid4

import pytest
from eventsourcing.domain import Aggregate

from domain.actors import acting_as
from domain.application import Wharfinger
from domain.audit_trail import AuditTrail
from domain.decisions import TokenRequestDecided
from domain.events import Created
from domain.management_policy import Switches
from domain.values import Role, Visibility
from eventstore.location import StoreLocation
from eventstore.open import open_log
from projections.activity.entries import trackable_of
from projections.activity.projector import ActivityProjector, rebuild
from projections.activity.store import ActivityStore, Query, StaleTrackingError, open_activity_store
from projections.activity.visibility import EVERYTHING


class Gadget(Aggregate):
    """An aggregate nobody mapped: its events must become generic entries, not a crash."""

    class Made(Created):
        colour: str


@dataclass
class Logs:
    store: Wharfinger
    audit: AuditTrail
    activity: ActivityStore

    def projector(self) -> ActivityProjector:
        return ActivityProjector(self.activity, {"events": self.store, "audit": self.audit})


@pytest.fixture
def logs(location: StoreLocation) -> Iterator[Logs]:
    store = open_log(location, Wharfinger, "events")
    audit = open_log(location, AuditTrail, "audit")
    activity = open_activity_store(location)
    try:
        yield Logs(store, audit, activity)
    finally:
        activity.close()
        audit.close()
        store.close()


def decision(**fields: object) -> TokenRequestDecided:
    base: dict[str, object] = dict(
        subject="bob", subject_id="", credential="password", client_address="10.0.0.7",
        forwarded_for="", user_agent="docker/27", service="registry.test:5000",
        requested=["repository:web/app:pull,push"], granted=["repository:web/app:pull"],
        reasons={"repository:web/app:pull,push": {"pull": "team viewer", "push": "team viewer"}},
        outcome="issued", refusal="", jti="j1", expires_at=None)
    base.update(fields)
    return TokenRequestDecided.new(**base)


def test_every_change_reads_as_a_sentence(logs: Logs) -> None:
    # Given a small history written by commands, as alice
    store = logs.store
    with acting_as("alice"):
        alice = store.register_user(username="alice", email="a@example.org", password_hash=None)
        bob = store.register_user(username="bob", email="b@example.org", password_hash=None)
        store.register_registry(name="main", hostname="registry.test:5000")
        team = store.create_team(name="web", owner_id=alice.id)
        store.add_member(team.id, bob.id, Role.VIEWER)
        store.change_member_role(team.id, bob.id, Role.CONTRIBUTOR)
        ns = store.create_namespace(name="webns", team_id=team.id)
        store.change_visibility(ns.id, Visibility.PUBLIC)
        store.grant_auditor(bob.id)
        store.disable_user(bob.id)
        store.record_switches(Switches(create_team=False))
        session = store.start_session(alice.id, "a hash")
        store.end_sessions([session], "signed out")
        store.update_team(team.id, name="frontend")
        store.update_namespace(ns.id, name="front")
        store.delete_namespace(ns.id)
    with acting_as("bob"):
        logs.audit.record(decision(subject_id=str(bob.id)))
    logs.audit.record(decision(actor="anonymous", subject="mallory", outcome="refused",
                               refusal="invalid username or password", granted=[]))
    # When the projector catches up
    summary = logs.projector().catch_up(batch_size=3)
    # Then each fact has its sentence, in feed order
    entries = logs.activity.page(Query(limit=100), EVERYTHING)
    sentences = [e.sentence for e in reversed(entries)]
    # (and each type names what its entries are about, as type-filtered pages assume)
    assert all(trackable_of(e.type) == e.trackable for e in entries)
    assert "alice changed bob's role in team web from viewer to contributor" in sentences
    assert "alice added bob to team web as viewer" in sentences
    assert "alice created private namespace webns in team web" in sentences
    assert "alice made namespace webns public (was private)" in sentences
    assert "alice made bob an auditor" in sentences
    assert "alice disabled bob" in sentences
    assert "alice renamed team web to frontend" in sentences
    assert "alice signed in to the console" in sentences
    assert ("alice set the user permissions: change visibility on, create namespace on,"
            " create team off, manage namespace on, manage team on") in sentences
    assert "alice's console session ended (signed out)" in sentences
    assert "alice renamed namespace webns to front" in sentences
    assert "alice deleted namespace front" in sentences
    assert "alice registered registry main (registry.test:5000)" in sentences
    assert ("bob was issued a token for registry.test:5000 from 10.0.0.7 granting"
            " repository:web/app:pull") in sentences
    assert ("a token request as mallory was refused from 10.0.0.7:"
            " invalid username or password") in sentences
    assert summary.entries == len(sentences)
    # And name claims (bookkeeping) are not entries
    assert not any("Claim" in e.type for e in logs.activity.dump())


def test_an_unmapped_event_becomes_a_generic_entry(logs: Logs) -> None:
    with acting_as("alice"):
        logs.store.save(Gadget._create(Gadget.Made, id=uuid4(), colour="red"))
    logs.projector().catch_up()
    [entry] = logs.activity.dump()
    assert entry.type == "event.Gadget.Made"
    assert entry.trackable == "other"
    assert entry.parameters == {"colour": "red"}
    assert entry.sentence == "alice recorded Gadget.Made"


def test_a_racing_projector_never_applies_an_event_twice(logs: Logs) -> None:
    with acting_as("cli"):
        for i in range(5):
            logs.store.register_user(username=f"u{i}", email=f"u{i}@example.org",
                                     password_hash=None)
    first, second = logs.projector(), logs.projector()
    first.load()
    second.load()
    assert first.step(batch_size=4) > 0
    # The second started from the same position: its write is refused as a whole
    with pytest.raises(StaleTrackingError):
        second.step(batch_size=4)
    # and, reloaded, it carries on from where the first left off
    second.catch_up()
    first.catch_up()
    entries = logs.activity.dump()
    assert len({(e.log, e.position) for e in entries}) == len(entries) == 5


def test_pages_follow_a_cursor_and_filters(logs: Logs) -> None:
    with acting_as("cli"):
        for i in range(7):
            logs.store.register_user(username=f"u{i}", email=f"u{i}@example.org",
                                     password_hash=None)
    with acting_as("bob"):
        logs.audit.record(decision(), decision(jti="j2"))
    logs.projector().catch_up()
    seen, before = [], None
    while True:
        page = logs.activity.page(Query(limit=3, before=before), EVERYTHING)
        seen += page
        if len(page) < 3:
            break
        before = (page[-1].occurred_us, page[-1].log, page[-1].position)
    assert len(seen) == 9 == len({(e.log, e.position) for e in seen})
    assert [e.occurred_us for e in seen] == sorted((e.occurred_us for e in seen), reverse=True)
    tokens = logs.activity.page(Query(types=("token",)), EVERYTHING)
    assert [e.parameters["jti"] for e in tokens] == ["j2", "j1"]
    assert len(logs.activity.page(Query(actor="cli"), EVERYTHING)) == 7
    assert logs.activity.page(Query(types=("user.create",), since_us=tokens[0].occurred_us),
                              EVERYTHING) == []


def test_rebuild_gives_the_same_rows(logs: Logs) -> None:
    with acting_as("alice"):
        alice = logs.store.register_user(username="alice", email="a@example.org",
                                         password_hash=None)
        logs.store.create_team(name="web", owner_id=alice.id)
    logs.audit.record(decision())
    logs.projector().catch_up(batch_size=2)
    live = logs.activity.dump()
    progress: list[tuple[str, int, int]] = []
    summary = rebuild(logs.activity, {"events": logs.store, "audit": logs.audit},
                      progress=lambda *p: progress.append(p))
    assert logs.activity.dump() == live
    assert summary.entries == len(live)
    assert progress[-1][1] == progress[-1][2]
