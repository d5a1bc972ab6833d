"""Admins are owners of every team they are in (F21), on both backends: the grant promotes
them where they are members, and a team joined while the grant is being saved is caught too."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest

from domain.application import Wharfinger
from domain.teams import Team
from domain.values import Role
from eventstore.location import StoreLocation
from eventstore.open import open_log


@pytest.fixture
def app(location: StoreLocation) -> Iterator[Wharfinger]:
    store = open_log(location, Wharfinger, "events")
    yield store
    store.close()


def role_changes(app: Wharfinger, team_id: UUID) -> list[tuple[str, str, str]]:
    return [(e.old_role, e.new_role, e.cause) for e in app.repository.event_store.get(team_id)
            if isinstance(e, Team.MemberRoleChanged)]


def test_the_grant_promotes_the_user_in_every_team_they_are_in(app: Wharfinger) -> None:
    owner = app.register_user(username="owner", email="owner@example.org", password_hash=None)
    bob = app.register_user(username="bob", email="bob@example.org", password_hash=None)
    web = app.create_team(name="web", owner_id=owner.id)
    ops = app.create_team(name="ops", owner_id=owner.id)
    app.add_team_member(web.id, bob.id, Role.VIEWER)
    app.add_team_member(ops.id, bob.id, Role.CONTRIBUTOR)
    app.grant_admin(bob.id)
    for team in (web, ops):
        assert app.get_team(team.id).role_of(bob.id) is Role.OWNER
    assert role_changes(app, web.id) == [("viewer", "owner", "admin_granted")]
    assert role_changes(app, ops.id) == [("contributor", "owner", "admin_granted")]


def test_a_team_joined_while_the_grant_is_saved_is_caught(app: Wharfinger) -> None:
    owner = app.register_user(username="owner", email="owner@example.org", password_hash=None)
    bob = app.register_user(username="bob", email="bob@example.org", password_hash=None)
    late = app.create_team(name="late", owner_id=owner.id)
    scan = app._teams_joined_by
    joined: list[Role] = []

    def join_meanwhile(user_id: UUID) -> list[UUID]:
        found = scan(user_id)
        if not joined:
            # Bob joins after the grant's scan, reading himself as not yet an admin.
            joined.append(app.add_team_member(late.id, bob.id, Role.VIEWER))
        return found

    app._teams_joined_by = join_meanwhile  # type: ignore[method-assign]
    app.grant_admin(bob.id)
    assert joined == [Role.VIEWER]
    assert app.get_team(late.id).role_of(bob.id) is Role.OWNER
    assert role_changes(app, late.id) == [("viewer", "owner", "admin_granted")]
