"""The permission projection against a brute-force model of Portus's matrix (portus.md §2.3–§3.1).

A Hypothesis state machine drives the real write application through random histories, on SQLite
and on PostgreSQL. After every step a fresh fold of the log, and an index kept current event by
event, must be equal, and must decide every (principal, service, scope) question exactly as a model
written here from the matrix with plain dicts and sets, Wharfinger's fixes included: every action
decided alone, only pull/push/delete/`*` recognised, `*` exactly where delete is.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from uuid import UUID

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from psycopg import sql

from domain.actors import acting_as
from domain.application import Wharfinger
from domain.errors import (
    ConflictError,
    DomainError,
    InvalidInputError,
    LastOwnerError,
    NameTakenError,
    NotFoundError,
)
from domain.management_policy import UnprocessableError
from domain.names import NameClaim, claim_id
from domain.registries import ADMINS_TEAM_ID, GLOBAL_NAMESPACE_NAME
from domain.scopes import Scope
from domain.values import AccessRules, NamespaceKind, PushPolicy, Role, Visibility
from eventstore.location import StoreLocation
from eventstore.open import open_log
from eventstore.reader import head_position, read_after
from projections.permissions import PermissionIndex
from projections.token_access import decide

OWNER, CONTRIBUTOR, VIEWER = Role.OWNER, Role.CONTRIBUTOR, Role.VIEWER

# Usernames from a tiny alphabet collide often, case-insensitively like the store's name claims.
# Their personal namespace names are their lower-cased forms, so they collide with team namespaces.
USERNAMES = st.text(alphabet="abAB", min_size=1, max_size=2)
TEAM_NAMES = st.sampled_from(["t1", "t2", "t3", "ab"])
NAMESPACE_NAMES = st.sampled_from(["a", "ab", "b", "c", "cd", "ns-1", GLOBAL_NAMESPACE_NAME])
# Every first path segment a repository of the history can have, plus one nobody can create.
SEGMENTS = ["a", "b", "aa", "ab", "ba", "bb", "c", "cd", "ns-1", GLOBAL_NAMESPACE_NAME, "nowhere"]
REPOSITORIES = (["busybox", "ab", "a.b"] + [f"{s}/app" for s in SEGMENTS]
                + [f"{s}/deep/app" for s in SEGMENTS])
# Decisions are per action, so one list holding every action (with unknown ones, an empty one and
# duplicates) checks all of them; the short lists pin `*` in first place (portus.md §7.1).
ACTION_LISTS = [
    ("*", "push", "pull", "fork", "delete", "pull", "", "update", "*"),
    ("*", "push"),
    ("pull",),
]
ACTIONS = st.sampled_from(["pull", "push", "delete", "*", "fork", "update",
                           "change_visibility", ""])
REGISTRY_NAME, REGISTRY_HOST, REGISTRY_EXTERNAL = "main", "registry.test:5000", "reg.example.org"
UNKNOWN_SERVICES = ["elsewhere.test", ""]

MACHINE_SETTINGS = settings(
    max_examples=25,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# -- the model ---------------------------------------------------------------------------------

@dataclass
class ModelUser:
    username: str
    admin: bool
    bot: bool
    enabled: bool = True


@dataclass
class ModelNamespace:
    name: str
    kind: NamespaceKind
    visibility: Visibility
    team_id: UUID
    personal_owner: UUID | None = None
    """Whose personal namespace this is; Portus's allow-personal compares namespaces, not roles."""


@dataclass
class Model:
    users: dict[UUID, ModelUser] = field(default_factory=dict)
    usernames: set[str] = field(default_factory=set)
    teams: dict[UUID, dict[UUID, Role]] = field(default_factory=dict)
    team_names: set[str] = field(default_factory=set)
    namespaces: dict[UUID, ModelNamespace] = field(default_factory=dict)
    services: tuple[str, ...] = ()
    """Names the registry answers to; empty while no registry is registered."""
    rules: AccessRules = field(default_factory=AccessRules)
    rules_recorded: bool = False

    def namespace_named(self, name: str) -> ModelNamespace | None:
        return next((ns for ns in self.namespaces.values() if ns.name == name), None)

    def global_namespace(self) -> ModelNamespace | None:
        return next((ns for ns in self.namespaces.values()
                     if ns.kind is NamespaceKind.GLOBAL), None)

    def granted(self, user_id: UUID | None, service: str, scope: Scope) -> tuple[str, ...]:
        if not service or service not in self.services:
            return ()
        if scope.type == "registry":
            admin = user_id is not None and self.users[user_id].admin
            return ("*",) if scope.name == "catalog" and admin and "*" in scope.actions else ()
        if scope.type != "repository":
            return ()
        head, slash, _ = scope.name.partition("/")
        ns = self.namespace_named(head) if slash else self.global_namespace()
        out: list[str] = []
        for action in scope.actions:
            if action not in out and self.allows(user_id, ns, action):
                out.append(action)
        return tuple(out)

    def allows(self, user_id: UUID | None, ns: ModelNamespace | None, action: str) -> bool:
        user = self.users[user_id] if user_id is not None else None
        role = self.teams[ns.team_id].get(user_id) if ns and user_id else None
        if action == "pull":
            if ns is not None and ns.visibility is Visibility.PUBLIC:
                return True
            if user is None:
                return False
            if user.admin:
                return True
            if ns is None:
                return False
            return (ns.visibility is Visibility.PROTECTED or ns.kind is NamespaceKind.GLOBAL
                    or role is not None)
        if action not in ("push", "delete", "*") or user is None:
            return False
        if action == "push":
            if user.admin:
                return True
            if ns is None or ns.kind is NamespaceKind.GLOBAL:
                return False
            if self.rules.push_policy is PushPolicy.ADMIN_ONLY:
                return False
            if self.rules.push_policy is PushPolicy.ALLOW_PERSONAL:
                return ns.personal_owner == user_id
            return role in (OWNER, CONTRIBUTOR)
        # delete and `*`
        if not self.rules.delete_enabled:
            return False
        if user.admin:
            return True
        if ns is None or ns.kind is NamespaceKind.GLOBAL:
            return False
        return role is OWNER or (role is CONTRIBUTOR and self.rules.delete_contributors)

    def last_enabled_admin(self, user_id: UUID) -> bool:
        """F7: once the admins team exists, no command leaves it without an enabled admin."""
        admins = self.teams.get(ADMINS_TEAM_ID)
        user = self.users[user_id]
        return admins is not None and user.admin and user.enabled and not any(
            self.users[u].admin and self.users[u].enabled for u in admins if u != user_id)

    def only_owner(self, team_id: UUID, user_id: UUID) -> bool:
        members = self.teams[team_id]
        return members.get(user_id) is OWNER and not any(
            r is OWNER for u, r in members.items() if u != user_id)


# -- folding the log ---------------------------------------------------------------------------

def catch_up(index: PermissionIndex, app: Wharfinger) -> PermissionIndex:
    while batch := read_after(app, index.position, limit=500):
        for logged in batch:
            index.apply(logged)
    return index


def namespace_id(app: Wharfinger, name: str) -> UUID:
    """The id of a namespace the application created by itself (global, personal)."""
    claim: object = app.repository.get(claim_id("namespace", name))
    assert isinstance(claim, NameClaim)
    assert claim.owner_id is not None
    return claim.owner_id


def fresh_location(base: StoreLocation) -> StoreLocation:
    """An empty store of the same backend as `base`: a new SQLite file or PostgreSQL schema."""
    suffix = secrets.token_hex(4)
    if base.postgres is None:
        return StoreLocation(base.data_dir / f"example-{suffix}")
    return StoreLocation(base.data_dir,
                         replace(base.postgres, schema=f"{base.postgres.schema}_{suffix}"))


def drop_store(location: StoreLocation) -> None:
    if location.postgres is None:
        shutil.rmtree(location.data_dir, ignore_errors=True)
        return
    with psycopg.connect(location.postgres.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
            sql.Identifier(location.postgres.schema)))


# -- the machine -------------------------------------------------------------------------------

class PolicyMachine(RuleBasedStateMachine):
    users = Bundle("users")
    teams = Bundle("teams")
    namespaces = Bundle("namespaces")

    def __init__(self, base: StoreLocation) -> None:
        super().__init__()
        self.location = fresh_location(base)
        self.app = open_log(self.location, Wharfinger, "events")
        self.model = Model()
        self.live = PermissionIndex()
        self.emails = 0

    def teardown(self) -> None:
        self.app.close()
        drop_store(self.location)

    # users

    def _register(self, username: str, *, admin: bool, bot: bool) -> UUID | None:
        self.emails += 1
        email = "" if bot else f"user{self.emails}@example.org"
        personal = username.lower()
        refused = username.casefold() in self.model.usernames or (
            bool(self.model.services) and not bot
            and self.model.namespace_named(personal) is not None)
        if refused:
            with pytest.raises(NameTakenError):
                self.app.register_user(username=username, email=email, password_hash=None,
                                       admin=admin, bot=bot)
            return None
        user = self.app.register_user(username=username, email=email, password_hash=None,
                                      admin=admin, bot=bot)
        self.model.users[user.id] = ModelUser(username, admin, bot)
        self.model.usernames.add(username.casefold())
        if self.model.services:
            if admin:
                self.model.teams[ADMINS_TEAM_ID][user.id] = OWNER
            if not bot:
                self._add_personal_namespace(user.id)
        return user.id

    def _add_personal_namespace(self, user_id: UUID) -> UUID:
        name = self.model.users[user_id].username.lower()
        ns_id = namespace_id(self.app, name)
        team_id = self.app.get_namespace(ns_id).team_id
        assert team_id is not None
        self.model.teams[team_id] = {user_id: OWNER}
        self.model.namespaces[ns_id] = ModelNamespace(
            name, NamespaceKind.PERSONAL, Visibility.PRIVATE, team_id, personal_owner=user_id)
        return ns_id

    @rule(target=users, username=USERNAMES, admin=st.booleans())
    def register_user(self, username: str, admin: bool) -> object:
        user_id = self._register(username, admin=admin, bot=False)
        return multiple() if user_id is None else user_id

    @rule(target=users, username=USERNAMES, admin=st.booleans())
    def create_bot(self, username: str, admin: bool) -> object:
        user_id = self._register(username, admin=admin, bot=True)
        return multiple() if user_id is None else user_id

    @rule(user=users)
    def grant_admin(self, user: UUID) -> None:
        with acting_as("model-admin"):
            self.app.grant_admin(user)
        self.model.users[user].admin = True
        if self.model.services:
            self.model.teams[ADMINS_TEAM_ID][user] = OWNER
        # F21: an admin owns every team they are in, and is not demoted when the grant ends.
        for members in self.model.teams.values():
            if user in members:
                members[user] = OWNER

    @rule(user=users)
    def revoke_admin(self, user: UUID) -> None:
        admins = self.model.teams.get(ADMINS_TEAM_ID)
        if self.model.last_enabled_admin(user):
            with pytest.raises(UnprocessableError, match="last enabled admin"):
                self.app.revoke_admin(user)
            return
        if admins is not None and self.model.only_owner(ADMINS_TEAM_ID, user):
            # The admins team must keep an owner, so the last admin stays one.
            with pytest.raises(LastOwnerError):
                self.app.revoke_admin(user)
            return
        self.app.revoke_admin(user)
        self.model.users[user].admin = False
        if admins is not None:
            admins.pop(user, None)

    @rule(user=users, enabled=st.booleans())
    def disable_or_enable(self, user: UUID, enabled: bool) -> None:
        if enabled:
            self.app.enable_user(user)
        elif self.model.last_enabled_admin(user):
            with pytest.raises(UnprocessableError, match="last enabled admin"):
                self.app.disable_user(user)
            return
        else:
            self.app.disable_user(user)
        self.model.users[user].enabled = enabled

    @rule(target=namespaces, user=users)
    def find_personal_namespace(self, user: UUID) -> object:
        found = [ns_id for ns_id, ns in self.model.namespaces.items()
                 if ns.personal_owner == user]
        return multiple(*found)

    # the registry and the rules

    @rule(target=namespaces, external=st.sampled_from(["", REGISTRY_EXTERNAL]))
    def register_registry(self, external: str) -> object:
        if self.model.services:
            with pytest.raises(InvalidInputError):
                self.app.register_registry(name=REGISTRY_NAME, hostname=REGISTRY_HOST,
                                           external_hostname=external)
            return multiple()
        self.app.register_registry(name=REGISTRY_NAME, hostname=REGISTRY_HOST,
                                   external_hostname=external)
        self.model.services = tuple(s for s in (REGISTRY_NAME, REGISTRY_HOST, external) if s)
        self.model.teams[ADMINS_TEAM_ID] = {
            uid: OWNER for uid, u in self.model.users.items() if u.admin}
        global_id = namespace_id(self.app, GLOBAL_NAMESPACE_NAME)
        self.model.namespaces[global_id] = ModelNamespace(
            GLOBAL_NAMESPACE_NAME, NamespaceKind.GLOBAL, Visibility.PUBLIC, ADMINS_TEAM_ID)
        personal = [self._add_personal_namespace(uid)
                    for uid, u in list(self.model.users.items()) if not u.bot]
        return multiple(global_id, *personal)

    @rule(policy=st.sampled_from(list(PushPolicy)), delete_enabled=st.booleans(),
          delete_contributors=st.booleans())
    def record_access_rules(self, policy: PushPolicy, delete_enabled: bool,
                            delete_contributors: bool) -> None:
        rules = AccessRules(policy, delete_enabled, delete_contributors)
        expected = not self.model.rules_recorded or rules != self.model.rules
        assert self.app.record_access_rules(rules) is expected
        self.model.rules, self.model.rules_recorded = rules, True

    # teams

    @rule(target=teams, name=TEAM_NAMES, owner=users)
    def create_team(self, name: str, owner: UUID) -> object:
        if name in self.model.team_names:
            with pytest.raises(NameTakenError):
                self.app.create_team(name=name, owner_id=owner)
            return multiple()
        team = self.app.create_team(name=name, owner_id=owner)
        self.model.team_names.add(name)
        self.model.teams[team.id] = {owner: OWNER}
        return team.id

    @rule(team=teams, user=users, role=st.sampled_from(list(Role)))
    def add_member(self, team: UUID, user: UUID, role: Role) -> None:
        if user in self.model.teams[team]:
            with pytest.raises(ConflictError):
                self.app.add_member(team, user, role)
            return
        self.app.add_member(team, user, role)
        self.model.teams[team][user] = role

    @rule(team=teams, user=users, role=st.sampled_from(list(Role)))
    def change_role(self, team: UUID, user: UUID, role: Role) -> None:
        members = self.model.teams[team]
        if user not in members:
            with pytest.raises(NotFoundError):
                self.app.change_member_role(team, user, role)
        elif role is not OWNER and self.model.only_owner(team, user):
            with pytest.raises(LastOwnerError):
                self.app.change_member_role(team, user, role)
        else:
            self.app.change_member_role(team, user, role)
            members[user] = role

    @rule(team=teams, user=users)
    def remove_member(self, team: UUID, user: UUID) -> None:
        members = self.model.teams[team]
        if user not in members:
            with pytest.raises(NotFoundError):
                self.app.remove_member(team, user)
        elif self.model.only_owner(team, user):
            with pytest.raises(LastOwnerError):
                self.app.remove_member(team, user)
        else:
            self.app.remove_member(team, user)
            del members[user]

    # namespaces

    @rule(target=namespaces, name=NAMESPACE_NAMES, team=teams,
          visibility=st.sampled_from(list(Visibility)))
    def create_namespace(self, name: str, team: UUID, visibility: Visibility) -> object:
        if not self.model.services:
            with pytest.raises(InvalidInputError):
                self.app.create_namespace(name=name, team_id=team, visibility=visibility)
            return multiple()
        if self.model.namespace_named(name) is not None:
            with pytest.raises(NameTakenError):
                self.app.create_namespace(name=name, team_id=team, visibility=visibility)
            return multiple()
        ns = self.app.create_namespace(name=name, team_id=team, visibility=visibility)
        self.model.namespaces[ns.id] = ModelNamespace(name, NamespaceKind.TEAM, visibility, team)
        return ns.id

    @rule(namespace=namespaces, visibility=st.sampled_from(list(Visibility)))
    def change_visibility(self, namespace: UUID, visibility: Visibility) -> None:
        ns = self.model.namespaces[namespace]
        if ns.kind is NamespaceKind.GLOBAL and visibility is Visibility.PRIVATE:
            with pytest.raises(InvalidInputError):
                self.app.change_visibility(namespace, visibility)
            return
        self.app.change_visibility(namespace, visibility)
        ns.visibility = visibility

    @rule(namespace=namespaces, team=teams)
    def move_namespace(self, namespace: UUID, team: UUID) -> None:
        ns = self.model.namespaces[namespace]
        if ns.kind is NamespaceKind.TEAM:
            self.app.move_namespace(namespace, team)
        else:
            # Portus lets an admin move the global or a personal namespace (`change_team?` has no
            # such check); refusing is a defensible fix. Either way the matrix below must hold:
            # push and delete on the global namespace stay admin-only, and allow-personal still
            # means the user's own personal namespace.
            try:
                self.app.move_namespace(namespace, team)
            except DomainError:
                return
        ns.team_id = team

    # the checks

    def _check(self, index: PermissionIndex, user_id: UUID | None, service: str,
               scopes: list[Scope]) -> None:
        principal = index.users[user_id].principal() if user_id is not None else None
        decisions = decide(index, principal, service, scopes)
        assert [d.scope for d in decisions] == scopes
        for decision in decisions:
            expected = self.model.granted(user_id, service, decision.scope)
            assert decision.granted == expected, (
                f"{self.model.users[user_id].username if user_id else 'anonymous'}"
                f" asked {service!r} for {decision.scope}: got {decision.granted},"
                f" model says {expected} ({decision.reasons})")

    @invariant()
    def projection_decides_like_the_model(self) -> None:
        fresh = catch_up(PermissionIndex(), self.app)
        assert catch_up(self.live, self.app) == fresh
        assert fresh.position == head_position(self.app)
        for uid, user in self.model.users.items():
            record = fresh.users[uid]
            assert (record.username, record.admin, record.bot, record.enabled) == (
                user.username, user.admin, user.bot, user.enabled)
        scopes = [Scope("repository", repo, actions)
                  for repo in REPOSITORIES for actions in ACTION_LISTS]
        scopes += [Scope("registry", "catalog", ("*",)), Scope("registry", "catalog", ("pull",)),
                   Scope("registry", "other", ("*",)), Scope("whale", "busybox", ("pull",))]
        services = list(self.model.services) or [REGISTRY_HOST]
        for user_id in [None, *(u for u, m in self.model.users.items() if m.enabled)]:
            self._check(fresh, user_id, services[0], scopes)
            for service in UNKNOWN_SERVICES:
                self._check(fresh, user_id, service, scopes[:3])

    @rule(data=st.data())
    def ask_random_questions(self, data: st.DataObject) -> None:
        index = catch_up(PermissionIndex(), self.app)
        enabled = [u for u, m in self.model.users.items() if m.enabled]
        user_id = data.draw(st.sampled_from([None, *enabled]), label="user")
        service = data.draw(st.sampled_from(
            [*self.model.services, REGISTRY_HOST, REGISTRY_EXTERNAL, *UNKNOWN_SERVICES]),
            label="service")
        scopes = data.draw(st.lists(st.builds(
            Scope, st.sampled_from(["repository", "repository", "registry"]),
            st.sampled_from([*REPOSITORIES, "catalog"]),
            st.lists(ACTIONS, min_size=1, max_size=6).map(tuple)), min_size=1, max_size=4),
            label="scopes")
        self._check(index, user_id, service, scopes)


@pytest.fixture
def app(location: StoreLocation) -> Iterator[Wharfinger]:
    store = open_log(location, Wharfinger, "events")
    yield store
    store.close()


def test_projection_decides_like_the_model(location: StoreLocation) -> None:
    run_state_machine_as_test(lambda: PolicyMachine(location),  # type: ignore[arg-type]
                              settings=MACHINE_SETTINGS)


def test_a_fresh_fold_is_deterministic(app: Wharfinger) -> None:
    # A history touching every kind of fact the index keeps.
    admin = app.register_user(username="root", email="r@example.org", password_hash=None,
                              admin=True)
    app.register_registry(name=REGISTRY_NAME, hostname=REGISTRY_HOST)
    alice = app.register_user(username="alice", email="a@example.org", password_hash=None)
    team = app.create_team(name="devs", owner_id=alice.id)
    app.add_member(team.id, admin.id, VIEWER)
    ns = app.create_namespace(name="devs", team_id=team.id, visibility=Visibility.PROTECTED)
    other = app.create_team(name="ops", owner_id=admin.id)
    app.move_namespace(ns.id, other.id)
    app.disable_user(alice.id)
    app.record_access_rules(AccessRules(PushPolicy.ALLOW_PERSONAL, delete_contributors=True))

    first = catch_up(PermissionIndex(), app)
    second = catch_up(PermissionIndex(), app)
    assert first == second
    assert first.position == head_position(app) > 0
    assert first.users[alice.id].enabled is False


# -- counter-examples the machine found, pinned as stories ---------------------------------------
# Moving the global or a personal namespace to another team may be refused (a defensible fix) or
# allowed (Portus allows it: `change_team?` has no such check); either way the matrix must hold.

def granted(app: Wharfinger, user_id: UUID, repository: str,
            actions: tuple[str, ...]) -> tuple[str, ...]:
    index = catch_up(PermissionIndex(), app)
    scope = Scope("repository", repository, actions)
    return decide(index, index.users[user_id].principal(), REGISTRY_HOST, [scope])[0].granted


def test_global_namespace_stays_admin_only_for_push_and_delete_after_a_move(
        app: Wharfinger) -> None:
    app.register_registry(name=REGISTRY_NAME, hostname=REGISTRY_HOST)
    bob = app.register_user(username="bob", email="b@example.org", password_hash=None)
    team = app.create_team(name="t1", owner_id=bob.id)

    with contextlib.suppress(DomainError):
        app.move_namespace(namespace_id(app, GLOBAL_NAMESPACE_NAME), team.id)

    # portus.md §3.1 "global ns | regular user": pull only.
    assert granted(app, bob.id, "busybox", ("pull", "push", "delete", "*")) == ("pull",)


def test_allow_personal_still_means_the_users_own_namespace_after_a_move(
        app: Wharfinger) -> None:
    app.register_registry(name=REGISTRY_NAME, hostname=REGISTRY_HOST)
    alice = app.register_user(username="alice", email="a@example.org", password_hash=None)
    bob = app.register_user(username="bob", email="b@example.org", password_hash=None)
    team = app.create_team(name="t1", owner_id=bob.id)

    with contextlib.suppress(DomainError):
        app.move_namespace(namespace_id(app, "alice"), team.id)
    app.record_access_rules(AccessRules(PushPolicy.ALLOW_PERSONAL))

    # portus.md §3.1 push-policy variants: allow-personal is `user.namespace == namespace`.
    assert granted(app, alice.id, "alice/app", ("push",)) == ("push",)
    assert granted(app, bob.id, "alice/app", ("push",)) == ()
