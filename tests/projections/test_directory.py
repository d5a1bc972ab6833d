"""The directory numbers aggregates in log order, the same way on every fold, on both backends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from domain.application import Wharfinger
from domain.registries import ADMINS_TEAM_NAME, GLOBAL_NAMESPACE_NAME
from eventstore.location import StoreLocation
from eventstore.open import open_log
from eventstore.reader import read_after
from projections.directory import Directory, Kind


@pytest.fixture
def store(location: StoreLocation) -> Iterator[Wharfinger]:
    app = open_log(location, Wharfinger, "events")
    yield app
    app.close()


def fold(store: Wharfinger) -> Directory:
    directory = Directory()
    for logged in read_after(store, 0, 10_000):
        directory.apply(logged)
    return directory


def test_ids_follow_creation_order_and_map_both_ways(store: Wharfinger) -> None:
    alice = store.register_user(username="alice", email="a@example.org", password_hash=None)
    store.register_registry(name="main", hostname="registry.test")
    bob = store.register_user(username="bob", email="b@example.org", password_hash=None)
    team = store.create_team(name="web", owner_id=bob.id)
    d = fold(store)

    assert [e.name for e in d.entries(Kind.USER)] == ["alice", "bob"]
    assert d.number_of(alice.id) == 1 and d.number_of(bob.id) == 2
    assert d.uuid_of(Kind.USER, 2) == bob.id
    assert d.uuid_of(Kind.USER, 3) is None and d.uuid_of(Kind.USER, 0) is None
    # Teams: admins (registry), alice's and bob's personal teams, then `web`.
    teams = d.entries(Kind.TEAM)
    assert teams[0].name == ADMINS_TEAM_NAME and teams[-1].uuid == team.id
    assert d.named(Kind.TEAM, "web") is teams[-1]
    assert d.named(Kind.TEAM, "bob") is None  # a personal team claims no name
    namespaces = [e.name for e in d.entries(Kind.NAMESPACE)]
    assert namespaces == [GLOBAL_NAMESPACE_NAME, "alice", "bob"]
    registry = d.entries(Kind.REGISTRY)
    assert len(registry) == 1 and registry[0].id == 1
    # A second fold of the same log (another node, a restart) numbers everything the same.
    again = fold(store)
    for kind in Kind:
        assert [(e.id, e.uuid) for e in again.entries(kind)] == [
            (e.id, e.uuid) for e in d.entries(kind)]


def test_renamed_and_deleted_entries_keep_their_ids(store: Wharfinger) -> None:
    owner = store.register_user(username="owner", email="o@example.org", password_hash=None)
    web = store.create_team(name="web", owner_id=owner.id)
    api = store.create_team(name="api", owner_id=owner.id)
    before = fold(store)
    web_id = before.number_of(web.id)
    assert web_id is not None

    web = store.get_team(web.id)
    web.rename("frontend")
    store.save(web)
    api = store.get_team(api.id)
    api.delete()
    store.save(api)
    d = fold(store)

    renamed = d.entry(Kind.TEAM, web_id)
    assert renamed is not None and renamed.name == "frontend" and not renamed.deleted
    assert renamed.updated_at > renamed.created_at
    assert d.named(Kind.TEAM, "frontend") is renamed and d.named(Kind.TEAM, "web") is None
    gone = d.entry_of(api.id)
    assert gone is not None and gone.deleted and d.named(Kind.TEAM, "api") is None
    assert gone not in d.entries(Kind.TEAM)
    assert gone in d.entries(Kind.TEAM, include_deleted=True)
    assert d.entry(Kind.TEAM, gone.id) is gone  # ids are never reused
