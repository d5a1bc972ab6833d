"""Fixtures shared by domain tests; a module with an `app` of its own uses that one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from domain.application import Wharfinger
from eventstore.location import StoreLocation
from eventstore.open import open_log


@pytest.fixture
def app(location: StoreLocation) -> Iterator[Wharfinger]:
    """A store with a registry, an owner, team `web` and its namespace `web`."""
    store = open_log(location, Wharfinger, "events")
    owner = store.register_user(username="owner", email="owner@example.org", password_hash=None)
    store.register_registry(name="main", hostname="registry.test:5000")
    team = store.create_team(name="web", owner_id=owner.id)
    store.create_namespace(name="web", team_id=team.id)
    yield store
    store.close()
