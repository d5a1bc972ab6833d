"""The permission projection's reverse lookups (a user's teams, a team's namespaces) agree with a
scan of its teams and namespaces after any history of real aggregate events (members added,
changed and removed, teams and users deleted, namespaces created, moved and deleted), and the
feed's viewer built from them is the one the scans give."""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any
from uuid import UUID

from hypothesis import example, given, settings
from hypothesis import strategies as st

from domain.errors import DomainError
from domain.namespaces import Namespace
from domain.teams import Team
from domain.users import User
from domain.values import NamespaceKind, Role, TeamKind, Visibility
from eventstore.reader import LoggedEvent
from projections.activity.visibility import Viewer, viewer_of
from projections.permissions import PermissionIndex

pick = st.integers(min_value=0, max_value=5)
operations = st.lists(st.one_of(
    st.tuples(st.just("user")),
    st.tuples(st.just("team")),
    st.tuples(st.just("add"), pick, pick, st.sampled_from(list(Role))),
    st.tuples(st.just("role"), pick, pick, st.sampled_from(list(Role))),
    st.tuples(st.just("remove"), pick, pick),
    st.tuples(st.just("delete_team"), pick),
    st.tuples(st.just("delete_user"), pick),
    st.tuples(st.just("namespace"), pick, st.sampled_from(list(Visibility))),
    st.tuples(st.just("move"), pick, pick),
    st.tuples(st.just("delete_namespace"), pick),
), max_size=40)


def scanned_viewer(index: PermissionIndex, user_id: UUID) -> Viewer:
    """`viewer_of` as it was written before the lookups: a scan of every team and namespace."""
    user = index.users[user_id]
    if user.admin or user.auditor:
        return Viewer(str(user.id), sees_everything=True)
    teams = {t.id for t in index.teams.values() if user.id in t.members}
    own = [ns for ns in index.namespaces.values() if ns.team_id in teams]
    shown = [ns for ns in index.namespaces.values() if ns.visibility is Visibility.PUBLIC]
    return Viewer(str(user.id), team_ids=frozenset(map(str, teams)),
                  namespace_ids=frozenset(str(ns.id) for ns in own),
                  namespace_names=frozenset(ns.name for ns in own),
                  public_namespace_ids=frozenset(str(ns.id) for ns in shown),
                  public_namespace_names=frozenset(ns.name for ns in shown))


class World:
    def __init__(self) -> None:
        self.index = PermissionIndex()
        self.users: list[User] = []
        self.teams: list[Team] = []
        self.namespaces: list[Namespace] = []
        self.position = 0

    def apply(self, op: tuple[Any, ...]) -> None:
        with contextlib.suppress(DomainError):  # refused by the aggregate: nothing happened
            self._run(op)
        for each in [*self.users, *self.teams, *self.namespaces]:
            for event in each.collect_events():
                self.position += 1
                self.index.apply(LoggedEvent(self.position, event))

    def _run(self, op: tuple[Any, ...]) -> None:
        kind = op[0]
        if kind == "user":
            n = len(self.users)
            self.users.append(User.register(username=f"u{n}", email=f"u{n}@example.org",
                                            password_hash=None, admin=False, bot=False))
        elif kind == "team":
            self.teams.append(Team.create(name=f"t{len(self.teams)}", kind=TeamKind.REGULAR))
        elif kind == "namespace" and self.teams:
            team = self.teams[op[1] % len(self.teams)]
            self.namespaces.append(Namespace.create(
                name=f"n{len(self.namespaces)}", kind=NamespaceKind.TEAM, team_id=team.id,
                visibility=op[2]))
        elif kind in ("add", "role", "remove") and self.teams and self.users:
            team = self.teams[op[1] % len(self.teams)]
            user = self.users[op[2] % len(self.users)]
            if team.deleted or user.deleted:
                return
            if kind == "add":
                team.add_member(user.id, op[3])
            elif kind == "role":
                team.change_role(user.id, op[3])
            else:
                team.remove_member(user.id)
        elif kind == "delete_team" and self.teams:
            self.teams[op[1] % len(self.teams)].delete()
        elif kind == "delete_user" and self.users:
            self.users[op[1] % len(self.users)].delete()
        elif kind == "move" and self.namespaces and self.teams:
            namespace = self.namespaces[op[1] % len(self.namespaces)]
            team = self.teams[op[2] % len(self.teams)]
            if not namespace.deleted and not team.deleted:
                namespace.move_to_team(team.id)
        elif kind == "delete_namespace" and self.namespaces:
            self.namespaces[op[1] % len(self.namespaces)].delete()


START = [("user",), ("user",), ("user",), ("team",), ("team",), ("add", 0, 0, Role.OWNER),
         ("add", 1, 0, Role.OWNER), ("namespace", 0, Visibility.PUBLIC),
         ("namespace", 1, Visibility.PRIVATE)]
"""Three users, two teams owned by the first, a namespace each: something to act on."""


@settings(max_examples=300)
@example([("add", 0, 1, Role.VIEWER), ("remove", 0, 1)])
@example([("move", 0, 1), ("delete_namespace", 1)])
@example([("add", 0, 1, Role.VIEWER), ("delete_user", 1), ("delete_team", 0)])
@given(operations)
def test_lookups_agree_with_scans(history: list[tuple[Any, ...]]) -> None:
    world = World()
    for op in [*START, *history]:
        world.apply(op)
        index = world.index
        for user_id in index.users:
            assert index.team_ids_of(user_id) == {
                t.id for t in index.teams.values() if user_id in t.members}
            assert viewer_of(index, user_id) == scanned_viewer(index, user_id)
        for team_id in index.teams:
            assert index.namespace_ids_of(team_id) == {
                ns.id for ns in index.namespaces.values() if ns.team_id == team_id}
        # Nothing is kept for users, teams or namespaces that are gone.
        members, owners = index.team_ids_by_member or {}, index.namespace_ids_by_team or {}
        assert set(members) <= set(index.users)
        assert all(owned for owned in owners.values())
        assert all(n in index.namespaces for owned in owners.values() for n in owned)
    assert world.index.namespace_ids_by_team is not None  # built, and then kept by the fold
    # An index whose records were filled without the fold (a fold checkpoint's) builds its
    # lookups from them on first use, and they are not part of its state.
    loaded = dataclasses.replace(world.index, team_ids_by_member=None,
                                 namespace_ids_by_team=None)
    assert loaded == world.index
    for user_id in loaded.users:
        assert loaded.team_ids_of(user_id) == world.index.team_ids_of(user_id)
    for team_id in loaded.teams:
        assert loaded.namespace_ids_of(team_id) == world.index.namespace_ids_of(team_id)
