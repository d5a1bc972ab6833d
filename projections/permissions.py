"""The permission projection: an in-memory fold of the log that the token endpoint reads.

It keeps exactly the facts the policy and authentication need (users and their credentials,
team memberships, namespaces, the registry and the access rules) in dicts, so deciding a token
request is a few lookups and no database round trip (design principle 3). Events are applied in log
order on one thread (the event loop); readers on that thread always see a consistent state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from domain.access_rules import AccessRulesRecord, rules_of
from domain.namespaces import Namespace
from domain.policy import NamespaceFacts, Principal
from domain.registries import Registry
from domain.teams import Team
from domain.users import User
from domain.values import AccessRules, NamespaceKind, Role, TeamKind, Visibility
from eventstore.reader import LoggedEvent


@dataclass
class UserRecord:
    id: UUID
    username: str
    email: str
    admin: bool
    bot: bool
    enabled: bool = True
    password_hash: str | None = None
    credentials_version: int = 0
    display_name: str | None = None
    # token id -> (application, hash of the token)
    tokens: dict[UUID, tuple[str, str]] = field(default_factory=dict)
    auditor: bool = False
    """Reads every activity and decision record; changes nothing (domain.auditors)."""

    def principal(self) -> Principal:
        return Principal(self.id, self.username, self.admin)


@dataclass
class TeamRecord:
    id: UUID
    name: str
    kind: TeamKind
    members: dict[UUID, Role] = field(default_factory=dict)


@dataclass
class NamespaceRecord:
    id: UUID
    name: str
    kind: NamespaceKind
    visibility: Visibility
    team_id: UUID

    def facts(self) -> NamespaceFacts:
        return NamespaceFacts(self.name, self.kind, self.visibility, self.team_id)


@dataclass
class RegistryRecord:
    name: str
    hostname: str
    external_hostname: str
    use_ssl: bool

    def serves(self, service: str) -> bool:
        """Portus looks the token `service` up as hostname, then external hostname; the
        registry's name is accepted too since `auth.token.service` is free text."""
        return bool(service) and service in (self.name, self.hostname, self.external_hostname)


@dataclass
class PermissionIndex:
    position: int = 0
    users: dict[UUID, UserRecord] = field(default_factory=dict)
    user_ids_by_name: dict[str, UUID] = field(default_factory=dict)
    teams: dict[UUID, TeamRecord] = field(default_factory=dict)
    namespaces: dict[UUID, NamespaceRecord] = field(default_factory=dict)
    namespace_ids_by_name: dict[str, UUID] = field(default_factory=dict)
    registry: RegistryRecord | None = None
    global_namespace_id: UUID | None = None
    rules: AccessRules = field(default_factory=AccessRules)
    # Reverse lookups for the feed's viewers (projections.activity.visibility), so a viewer
    # costs their own teams, not every team and namespace there is. Derived from `teams` and
    # `namespaces`: built by a scan on first use (an index loaded from a fold checkpoint has
    # none), then kept by the fold at O(1) per event; not part of the state (not compared).
    team_ids_by_member: dict[UUID, set[UUID]] | None = field(
        default=None, compare=False, repr=False)
    """user id -> the teams they are a member of (none: absent); None until first used"""
    namespace_ids_by_team: dict[UUID, set[UUID]] | None = field(
        default=None, compare=False, repr=False)
    """team id -> the namespaces it owns (none: absent); None until first used"""

    # -- queries (the token endpoint's hot path) ----------------------------------------------

    def user_named(self, username: str) -> UserRecord | None:
        user_id = self.user_ids_by_name.get(username)
        return self.users.get(user_id) if user_id else None

    def namespace_named(self, name: str) -> NamespaceRecord | None:
        ns_id = self.namespace_ids_by_name.get(name)
        return self.namespaces.get(ns_id) if ns_id else None

    def global_namespace(self) -> NamespaceRecord | None:
        gid = self.global_namespace_id
        return self.namespaces.get(gid) if gid else None

    def team_ids_of(self, user_id: UUID) -> set[UUID]:
        """The teams `user_id` is a member of (the set itself: do not change it)."""
        lookup = self.team_ids_by_member
        if lookup is None:
            lookup = self.team_ids_by_member = {}
            for team in self.teams.values():
                for member in team.members:
                    lookup.setdefault(member, set()).add(team.id)
        return lookup.get(user_id, _NONE)

    def namespace_ids_of(self, team_id: UUID) -> set[UUID]:
        """The namespaces team `team_id` owns (the set itself: do not change it)."""
        lookup = self.namespace_ids_by_team
        if lookup is None:
            lookup = self.namespace_ids_by_team = {}
            for ns in self.namespaces.values():
                lookup.setdefault(ns.team_id, set()).add(ns.id)
        return lookup.get(team_id, _NONE)

    def role_of(self, user_id: UUID | None, team_id: UUID) -> Role | None:
        if user_id is None:
            return None
        team = self.teams.get(team_id)
        return team.members.get(user_id) if team else None

    # -- the fold -----------------------------------------------------------------------------

    def apply(self, logged: LoggedEvent) -> None:
        handler = _HANDLERS.get(type(logged.event))
        if handler is not None:
            handler(self, logged.event)
        self.position = logged.position

    def _user_registered(self, e: User.Registered) -> None:
        self.users[e.originator_id] = UserRecord(
            e.originator_id, e.username, e.email, e.admin, e.bot, password_hash=e.password_hash)
        self.user_ids_by_name[e.username] = e.originator_id

    def _password_changed(self, e: User.PasswordChanged) -> None:
        user = self.users[e.originator_id]
        user.password_hash = e.password_hash
        user.credentials_version += 1

    def _password_rehashed(self, e: User.PasswordRehashed) -> None:
        self.users[e.originator_id].password_hash = e.password_hash

    def _display_name_set(self, e: User.DisplayNameSet) -> None:
        self.users[e.originator_id].display_name = e.display_name

    def _admin_granted(self, e: User.AdminGranted) -> None:
        self.users[e.originator_id].admin = True

    def _admin_revoked(self, e: User.AdminRevoked) -> None:
        self.users[e.originator_id].admin = False

    def _auditor_granted(self, e: User.AuditorGranted) -> None:
        self.users[e.originator_id].auditor = True

    def _auditor_revoked(self, e: User.AuditorRevoked) -> None:
        self.users[e.originator_id].auditor = False

    def _disabled(self, e: User.Disabled) -> None:
        user = self.users[e.originator_id]
        user.enabled = False
        user.credentials_version += 1

    def _enabled(self, e: User.Enabled) -> None:
        self.users[e.originator_id].enabled = True

    def _token_created(self, e: User.ApplicationTokenCreated) -> None:
        self.users[e.originator_id].tokens[e.token_id] = (e.application, e.token_hash)

    def _token_revoked(self, e: User.ApplicationTokenRevoked) -> None:
        self.users[e.originator_id].tokens.pop(e.token_id, None)

    def _email_changed(self, e: User.EmailChanged) -> None:
        self.users[e.originator_id].email = e.email

    def _user_deleted(self, e: User.Deleted) -> None:
        # A deleted account signs in nowhere; its name may be taken by a new account.
        user = self.users.pop(e.originator_id, None)
        if user is not None and self.user_ids_by_name.get(user.username) == user.id:
            del self.user_ids_by_name[user.username]
        lookup = self.team_ids_by_member
        teams = (self.teams.values() if lookup is None else
                 [self.teams[t] for t in lookup.pop(e.originator_id, _NONE)])
        for team in teams:
            team.members.pop(e.originator_id, None)

    def _team_renamed(self, e: Team.Renamed) -> None:
        self.teams[e.originator_id].name = e.name

    def _team_deleted(self, e: Team.Deleted) -> None:
        team = self.teams.pop(e.originator_id, None)
        for user_id in team.members if team is not None else ():
            _discard(self.team_ids_by_member, user_id, e.originator_id)

    def _namespace_renamed(self, e: Namespace.Renamed) -> None:
        ns = self.namespaces[e.originator_id]
        if self.namespace_ids_by_name.get(ns.name) == ns.id:
            del self.namespace_ids_by_name[ns.name]
        ns.name = e.name
        self.namespace_ids_by_name[e.name] = ns.id

    def _namespace_deleted(self, e: Namespace.Deleted) -> None:
        ns = self.namespaces.pop(e.originator_id, None)
        if ns is not None and self.namespace_ids_by_name.get(ns.name) == ns.id:
            del self.namespace_ids_by_name[ns.name]
        if ns is not None:
            _discard(self.namespace_ids_by_team, ns.team_id, ns.id)

    def _team_created(self, e: Team.Created) -> None:
        self.teams[e.originator_id] = TeamRecord(e.originator_id, e.name, TeamKind(e.kind))

    def _member_added(self, e: Team.MemberAdded) -> None:
        self._set_member(e.originator_id, e.user_id, Role(e.role))

    def _member_role_changed(self, e: Team.MemberRoleChanged) -> None:
        self._set_member(e.originator_id, e.user_id, Role(e.new_role))

    def _set_member(self, team_id: UUID, user_id: UUID, role: Role) -> None:
        members = self.teams[team_id].members
        before = len(members)
        members[user_id] = role
        if len(members) != before:  # a new member (no `in` test: a UUID hashes in Python)
            _add(self.team_ids_by_member, user_id, team_id)

    def _member_removed(self, e: Team.MemberRemoved) -> None:
        if self.teams[e.originator_id].members.pop(e.user_id, None) is not None:
            _discard(self.team_ids_by_member, e.user_id, e.originator_id)

    def _namespace_created(self, e: Namespace.Created) -> None:
        self.namespaces[e.originator_id] = NamespaceRecord(
            e.originator_id, e.name, NamespaceKind(e.kind), Visibility(e.visibility), e.team_id)
        self.namespace_ids_by_name[e.name] = e.originator_id
        _add(self.namespace_ids_by_team, e.team_id, e.originator_id)
        if e.kind == NamespaceKind.GLOBAL.value:
            self.global_namespace_id = e.originator_id

    def _visibility_changed(self, e: Namespace.VisibilityChanged) -> None:
        self.namespaces[e.originator_id].visibility = Visibility(e.visibility)

    def _moved_to_team(self, e: Namespace.MovedToTeam) -> None:
        ns = self.namespaces[e.originator_id]
        _discard(self.namespace_ids_by_team, ns.team_id, ns.id)
        ns.team_id = e.team_id
        _add(self.namespace_ids_by_team, e.team_id, ns.id)

    def _registry_registered(self, e: Registry.Registered | Registry.Updated) -> None:
        self.registry = RegistryRecord(e.name, e.hostname, e.external_hostname, e.use_ssl)

    def _rules_recorded(self, e: AccessRulesRecord.Recorded | AccessRulesRecord.Changed) -> None:
        self.rules = rules_of(e)


_NONE: set[UUID] = set()
"""The empty answer of the reverse lookups (shared: never changed)."""

_HANDLERS: dict[type[Any], Callable[[PermissionIndex, Any], None]] = {
    User.Registered: PermissionIndex._user_registered,
    User.PasswordChanged: PermissionIndex._password_changed,
    User.PasswordRehashed: PermissionIndex._password_rehashed,
    User.DisplayNameSet: PermissionIndex._display_name_set,
    User.AdminGranted: PermissionIndex._admin_granted,
    User.AdminRevoked: PermissionIndex._admin_revoked,
    User.AuditorGranted: PermissionIndex._auditor_granted,
    User.AuditorRevoked: PermissionIndex._auditor_revoked,
    User.Disabled: PermissionIndex._disabled,
    User.Enabled: PermissionIndex._enabled,
    User.ApplicationTokenCreated: PermissionIndex._token_created,
    User.ApplicationTokenRevoked: PermissionIndex._token_revoked,
    User.Deleted: PermissionIndex._user_deleted,
    User.EmailChanged: PermissionIndex._email_changed,
    Team.Created: PermissionIndex._team_created,
    Team.Renamed: PermissionIndex._team_renamed,
    Team.Deleted: PermissionIndex._team_deleted,
    Namespace.Renamed: PermissionIndex._namespace_renamed,
    Namespace.Deleted: PermissionIndex._namespace_deleted,
    Team.MemberAdded: PermissionIndex._member_added,
    Team.MemberRoleChanged: PermissionIndex._member_role_changed,
    Team.MemberRemoved: PermissionIndex._member_removed,
    Namespace.Created: PermissionIndex._namespace_created,
    Namespace.VisibilityChanged: PermissionIndex._visibility_changed,
    Namespace.MovedToTeam: PermissionIndex._moved_to_team,
    Registry.Registered: PermissionIndex._registry_registered,
    Registry.Updated: PermissionIndex._registry_registered,
    AccessRulesRecord.Recorded: PermissionIndex._rules_recorded,
    AccessRulesRecord.Changed: PermissionIndex._rules_recorded,
}


def _add(lookup: dict[UUID, set[UUID]] | None, key: UUID, value: UUID) -> None:
    """Keep a reverse lookup (None: not built yet, nothing to keep) when `value` joins `key`."""
    if lookup is None:
        return
    values = lookup.get(key)
    if values is None:
        lookup[key] = {value}
    else:
        values.add(value)


def _discard(lookup: dict[UUID, set[UUID]] | None, key: UUID, value: UUID) -> None:
    """The same when `value` leaves `key`; an emptied key is dropped."""
    values = lookup.get(key) if lookup is not None else None
    if values is not None and lookup is not None:
        values.discard(value)
        if not values:
            del lookup[key]
