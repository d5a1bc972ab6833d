"""Repository, tag and pull events (the registry's model) become repository entries, matched by
their class names: here stand-ins with the same names and fields, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate

from domain.actors import acting_as
from domain.application import Wharfinger
from domain.audit_trail import AuditTrail
from domain.events import Created, Event
from domain.facts import Fact
from domain.values import Visibility
from eventstore.location import StoreLocation
from eventstore.open import open_log
from projections.activity.projector import ActivityProjector
from projections.activity.store import ActivityStore, open_activity_store


class Repository(Aggregate):
    class Created(Created):
        namespace_id: UUID
        namespace_name: str
        name: str
        full_name: str
        origin: str

    class TagPushed(Event):
        tag: str
        digest: str
        client_addr: str


class ManifestPulled(Fact):
    repository: str
    tag: str
    digest: str
    client_addr: str
    user_agent: str


@pytest.fixture
def opened(location: StoreLocation) -> Iterator[tuple[Wharfinger, AuditTrail, ActivityStore]]:
    store = open_log(location, Wharfinger, "events")
    audit = open_log(location, AuditTrail, "audit")
    activity = open_activity_store(location)
    try:
        yield store, audit, activity
    finally:
        activity.close()
        audit.close()
        store.close()


def test_pushes_and_pulls_are_repository_entries(
        opened: tuple[Wharfinger, AuditTrail, ActivityStore]) -> None:
    store, audit, activity = opened
    with acting_as("alice"):
        alice = store.register_user(username="alice", email="a@example.org", password_hash=None)
        store.register_registry(name="main", hostname="registry.test:5000")
        team = store.create_team(name="web", owner_id=alice.id)
        ns = store.create_namespace(name="webns", team_id=team.id, visibility=Visibility.PUBLIC)
        repo = Repository._create(Repository.Created, id=uuid4(), namespace_id=ns.id,
                                  namespace_name="webns", name="app", full_name="webns/app",
                                  origin="registry")
        repo.trigger_event(Repository.TagPushed, tag="v1", digest="sha256:" + "a" * 64,
                           client_addr="10.0.0.9")
        store.save(repo)
    with acting_as("bob"):
        audit.record(ManifestPulled.new(repository="webns/app", tag="v1",
                                        digest="sha256:" + "a" * 64, client_addr="10.0.0.8",
                                        user_agent="docker"))
    ActivityProjector(activity, {"events": store, "audit": audit}).catch_up()
    entries = {e.sentence: e for e in activity.dump() if e.trackable == "repository"}
    assert set(entries) == {"alice created repository webns/app", "alice pushed webns/app:v1",
                            "bob pulled webns/app:v1 from 10.0.0.8"}
    pushed = entries["alice pushed webns/app:v1"]
    assert (pushed.type, pushed.namespace_id, pushed.repository) == (
        "repository.push", str(ns.id), "webns/app")
    pulled = entries["bob pulled webns/app:v1 from 10.0.0.8"]
    assert (pulled.type, pulled.namespace_name, pulled.namespace_id) == (
        "repository.pull", "webns", "")
