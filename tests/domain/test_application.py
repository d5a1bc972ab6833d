"""The write application on both backends: commands record facts, guards refuse bad ones whole."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from domain.actors import acting_as
from domain.application import Wharfinger
from domain.errors import (
    InvalidInputError,
    LastOwnerError,
    NameTakenError,
    NotFoundError,
)
from domain.registries import GLOBAL_NAMESPACE_NAME
from domain.teams import Team
from domain.users import User
from domain.values import AccessRules, PushPolicy, Role, TeamKind, Visibility
from eventstore.location import StoreLocation
from eventstore.open import open_log
from eventstore.reader import head_position, read_after


@pytest.fixture
def app(location: StoreLocation) -> Iterator[Wharfinger]:
    store = open_log(location, Wharfinger, "events")
    yield store
    store.close()


def test_events_carry_actor_and_time(app: Wharfinger) -> None:
    with acting_as("alice"):
        app.register_user(username="bob", email="bob@example.org", password_hash=None)
    events = [logged.event for logged in read_after(app, 0)]
    assert events and all(e.actor == "alice" for e in events)
    assert all(e.timestamp.tzinfo is not None for e in events)


def test_duplicate_username_is_refused_and_records_nothing(app: Wharfinger) -> None:
    app.register_user(username="alice", email="a@example.org", password_hash=None)
    before = head_position(app)
    with pytest.raises(NameTakenError) as e:
        app.register_user(username="alice", email="other@example.org", password_hash=None)
    assert e.value.field == "username"
    assert head_position(app) == before


def test_duplicate_email_is_refused(app: Wharfinger) -> None:
    app.register_user(username="alice", email="a@example.org", password_hash=None)
    with pytest.raises(NameTakenError) as e:
        app.register_user(username="alicia", email="A@example.org", password_hash=None)
    assert e.value.field == "email"


@pytest.mark.parametrize("username", ["", "!!!!!", "a:b", "a b", "x" * 200, "tab\tname"])
def test_bad_usernames_are_refused(app: Wharfinger, username: str) -> None:
    with pytest.raises(InvalidInputError):
        app.register_user(username=username, email="a@example.org", password_hash=None)
    assert head_position(app) == 0


def test_registry_creates_global_and_personal_namespaces(app: Wharfinger) -> None:
    admin = app.register_user(username="Admin.User", email="a@example.org", password_hash=None,
                              admin=True)
    app.register_user(username="robot", email="", password_hash=None, bot=True)
    app.register_registry(name="main", hostname="registry.test:5000")
    later = app.register_user(username="carol", email="c@example.org", password_hash=None)
    names = {e.event.name: e.event for e in read_after(app, 0)
             if type(e.event).__qualname__ == "Namespace.Created"}
    assert set(names) == {GLOBAL_NAMESPACE_NAME, "admin.user", "carol"}
    assert names[GLOBAL_NAMESPACE_NAME].visibility == "public"
    assert names["carol"].visibility == "private"
    assert later.username == "carol"
    admins = [e.event for e in read_after(app, 0)
              if isinstance(e.event, Team.MemberAdded) and e.event.user_id == admin.id]
    assert len(admins) == 2  # owner of the admins team and of the personal team


def test_only_one_registry(app: Wharfinger) -> None:
    app.register_registry(name="main", hostname="registry.test:5000")
    with pytest.raises(InvalidInputError, match="only create one registry"):
        app.register_registry(name="other", hostname="other.test")


def test_team_keeps_an_owner(app: Wharfinger) -> None:
    owner = app.register_user(username="owner", email="o@example.org", password_hash=None)
    member = app.register_user(username="member", email="m@example.org", password_hash=None)
    team = app.create_team(name="web", owner_id=owner.id)
    app.add_member(team.id, member.id, Role.VIEWER)
    with pytest.raises(LastOwnerError):
        app.remove_member(team.id, owner.id)
    with pytest.raises(LastOwnerError):
        app.change_member_role(team.id, owner.id, Role.VIEWER)
    app.change_member_role(team.id, member.id, Role.OWNER)
    app.change_member_role(team.id, owner.id, Role.VIEWER)
    assert app.get_team(team.id).members == {str(owner.id): Role.VIEWER,
                                             str(member.id): Role.OWNER}


def test_unknown_ids_are_not_found(app: Wharfinger) -> None:
    user = app.register_user(username="owner", email="o@example.org", password_hash=None)
    with pytest.raises(NotFoundError):
        app.add_member(user.id, user.id, Role.VIEWER)  # a user id is not a team id


def test_global_namespace_is_never_private(app: Wharfinger) -> None:
    app.register_registry(name="main", hostname="registry.test:5000")
    global_ns = next(e.event for e in read_after(app, 0)
                     if getattr(e.event, "name", None) == GLOBAL_NAMESPACE_NAME
                     and type(e.event).__qualname__ == "Namespace.Created")
    with pytest.raises(InvalidInputError):
        app.change_visibility(global_ns.originator_id, Visibility.PRIVATE)
    app.change_visibility(global_ns.originator_id, Visibility.PROTECTED)


def test_access_rules_recorded_only_when_changed(app: Wharfinger) -> None:
    assert app.record_access_rules(AccessRules())
    assert not app.record_access_rules(AccessRules())
    assert app.record_access_rules(AccessRules(push_policy=PushPolicy.ADMIN_ONLY))


def test_bootstrap_only_while_there_are_no_users(app: Wharfinger) -> None:
    user, token_id = app.bootstrap_admin(username="admin", email="a@example.org",
                                         password_hash=None, token_hash="sha256:x")
    assert user.admin and str(token_id) in user.application_tokens
    with pytest.raises(InvalidInputError, match="no users"):
        app.bootstrap_admin(username="admin2", email="b@example.org", password_hash=None,
                            token_hash="sha256:y")


def test_application_tokens_limits(app: Wharfinger) -> None:
    user = app.register_user(username="alice", email="a@example.org", password_hash=None)
    for i in range(5):
        app.create_application_token(user.id, f"ci-{i}", f"sha256:{i}")
    with pytest.raises(InvalidInputError, match="more than 5"):
        app.create_application_token(user.id, "ci-6", "sha256:6")
    assert isinstance(app.get_user(user.id), User)


def test_stored_events_cannot_be_rewritten(app: Wharfinger, location: StoreLocation) -> None:
    app.register_user(username="alice", email="a@example.org", password_hash=None)
    if location.postgres is None:
        import sqlite3

        conn = sqlite3.connect(location.sqlite_path("events"))
        with pytest.raises(sqlite3.DatabaseError, match="immutable"):
            conn.execute("UPDATE stored_events SET state = x'00'")
        with pytest.raises(sqlite3.DatabaseError, match="immutable"):
            conn.execute("DELETE FROM stored_events")
        conn.close()
    else:
        import psycopg

        target = location.postgres
        with psycopg.connect(target.conninfo(), autocommit=True) as conn:
            for statement in ("UPDATE {s}.wharfinger_events SET state = '\\x00'",
                              "DELETE FROM {s}.wharfinger_events",
                              "TRUNCATE {s}.wharfinger_events"):
                with pytest.raises(psycopg.errors.RaiseException, match="immutable"):
                    conn.execute(statement.format(s=target.schema))  # type: ignore[arg-type]
    assert len(read_after(app, 0)) == 3  # the user and the claims on its name and email


def test_save_records_what_the_librarys_save_would(app: Wharfinger) -> None:
    """`Wharfinger.save` collects aggregates by class (domain.application._Collected), not
    through the library's runtime protocols: every pending event of every aggregate, in the
    order given, Nones skipped, anything else (a bare event) the library's way."""
    first = User.register(username="carol", email="c@example.org", password_hash=None,
                          admin=False, bot=False)
    first.create_application_token("ci", "hash")
    second = Team.create(name="ops", kind=TeamKind.REGULAR)
    pending = [*first.pending_events, *second.pending_events]
    recordings = app.save(first, None, second)
    assert [r.domain_event for r in recordings] == pending
    assert not first.pending_events and not second.pending_events
    assert app.run_command(lambda: app.save(first))[1] == 0  # nothing pending: nothing saved
    again = User.register(username="dave", email="d@example.org", password_hash=None,
                          admin=False, bot=False)
    (created,) = again.collect_events()
    (recording,) = app.save(created)  # a bare event, as the library allows
    assert recording.domain_event is created
    stored = [logged.event for logged in read_after(app, 0)]
    assert stored == [*pending, created]
    assert app.repository.get(first.id).application_tokens == first.application_tokens
