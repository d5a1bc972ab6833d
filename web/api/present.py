"""Portus API v1 entity shapes (portus.md §1.12) from the in-memory read models, and id look-ups.

Ids are the directory's integers (projections.directory). Look-ups of unknown or deleted ids are
404 "Not found", as in Portus.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.errors import NotFoundError
from domain.management_policy import Switches, TeamFacts
from domain.names import namespace_name_from_username
from domain.policy import NamespaceFacts
from domain.values import NamespaceKind, Role, TeamKind
from projections.activity.store import Query
from projections.activity.visibility import EVERYTHING
from projections.directory import Entry, Kind
from projections.permissions import NamespaceRecord, TeamRecord, UserRecord
from web.services import Services, management_switches

Json = dict[str, Any]


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _entry(services: Services, uuid: UUID) -> Entry:
    entry = services.directory.entry_of(uuid)
    if entry is None:  # the two folds are fed together; this cannot lag
        raise NotFoundError("Not found")
    return entry


def switches(services: Services) -> Switches:
    """The switches of the configuration, with the access rules as recorded in the log."""
    return replace(management_switches(services.settings), rules=services.index.rules)


# -- look-ups -------------------------------------------------------------------------------------


def _number(raw: str) -> int | None:
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 12 else None


def _live(services: Services, kind: Kind, raw: str) -> Entry:
    number = _number(raw)
    entry = services.directory.entry(kind, number) if number else None
    if entry is None or entry.deleted:
        raise NotFoundError("Not found")
    return entry


def find_user(services: Services, raw: str, *, by_email: bool = False) -> UserRecord:
    """By integer id; with `by_email`, a non-numeric value is an email (Portus's `:id_or_email`)."""
    if by_email and _number(raw) is None:
        for user in services.index.users.values():
            if user.email and user.email.casefold() == raw.casefold():
                return user
        raise NotFoundError("Not found")
    found = services.index.users.get(_live(services, Kind.USER, raw).uuid)
    if found is None:
        raise NotFoundError("Not found")
    return found


def user_named(services: Services, name: str, *, field: str = "user") -> UserRecord:
    user = services.index.user_named(name)
    if user is None:
        raise NotFoundError(f"User '{name}' was not found", field=field)
    return user


def find_team(services: Services, raw: str) -> TeamRecord:
    team = services.index.teams.get(_live(services, Kind.TEAM, raw).uuid)
    if team is None or team.kind is not TeamKind.REGULAR:
        raise NotFoundError("Not found")
    return team


def team_named(services: Services, name: str, *, field: str = "team") -> TeamRecord:
    entry = services.directory.named(Kind.TEAM, name)
    team = services.index.teams.get(entry.uuid) if entry else None
    if team is None or team.kind is not TeamKind.REGULAR:
        raise NotFoundError(f"unknown team '{name}'", field=field)
    return team


def find_namespace(services: Services, raw: str) -> NamespaceRecord:
    ns = services.index.namespaces.get(_live(services, Kind.NAMESPACE, raw).uuid)
    if ns is None:
        raise NotFoundError("Not found")
    return ns


def team_facts(services: Services, team: TeamRecord, user: UserRecord) -> TeamFacts:
    return TeamFacts(team.id, team.kind, team.members.get(user.id))


def namespace_facts(ns: NamespaceRecord) -> NamespaceFacts:
    return ns.facts()


def role_in(services: Services, user: UserRecord | None, team_id: UUID) -> Role | None:
    return services.index.role_of(user.id if user else None, team_id)


# -- shapes ---------------------------------------------------------------------------------------


def personal_namespace(services: Services, user: UserRecord) -> NamespaceRecord | None:
    name = namespace_name_from_username(user.username)
    ns = services.index.namespace_named(name) if name else None
    if ns is None or ns.kind is not NamespaceKind.PERSONAL:
        return None
    return ns if services.index.role_of(user.id, ns.team_id) is Role.OWNER else None


SignIns = tuple[datetime | None, datetime | None]
"""A user's latest sign-in and the one before (Portus's `current_sign_in_at`, `last_sign_in_at`)."""

SIGN_IN_TYPES = ("user.login", "token.issue")
"""What Portus (Devise trackable) counts as signing in: the console's sign-in, and every
authenticated `/v2/token` request (`docker login`, pull, push). Its REST API's `Portus-Auth`
header is not tracked there (no Devise `sign_in` in Grape), so API calls do not count here."""


async def sign_ins_of(services: Services, users: Iterable[UserRecord]) -> dict[UUID, SignIns]:
    """Each user's two latest sign-ins, from the activity feed's `user.login` (Session.Started)
    and `token.issue` (TokenRequestDecided, issued) entries. The feed is a projection: a
    sign-in shows once the feed has caught up with it."""
    activity = services.activity
    wanted = list(users)
    if activity is None or not wanted:
        return {}

    def read() -> dict[UUID, SignIns]:
        found: dict[UUID, SignIns] = {}
        for user in wanted:
            # The user's own entries (owner_id), by the actor index; a username reused after a
            # deletion does not bring the old account's sign-ins.
            latest = activity.page(Query(actor=user.username, types=SIGN_IN_TYPES, limit=8),
                                   EVERYTHING)
            times = [e.occurred_at for e in latest if e.owner_id == str(user.id)]
            found[user.id] = (times[0] if times else None, times[1] if len(times) > 1 else None)
        return found

    return await services.pool.run(read)


async def user_body(services: Services, user: UserRecord) -> Json:
    """`user_json` with the sign-in times (one read of the feed)."""
    return user_json(services, user, (await sign_ins_of(services, [user])).get(user.id))


def user_json(services: Services, user: UserRecord, sign_ins: SignIns | None = None) -> Json:
    entry = _entry(services, user.id)
    ns = personal_namespace(services, user)
    current, last = sign_ins or (None, None)
    return {"id": entry.id, "username": user.username, "email": user.email,
            "current_sign_in_at": _time(current), "last_sign_in_at": _time(last),
            "created_at": _time(entry.created_at), "updated_at": _time(entry.updated_at),
            "admin": user.admin, "enabled": user.enabled, "locked_at": None,
            "namespace_id": services.directory.number_of(ns.id) if ns else None,
            "display_name": user.display_name, "bot": user.bot, "auditor": user.auditor}


def team_json(services: Services, team: TeamRecord, viewer: UserRecord | None = None) -> Json:
    entry = _entry(services, team.id)
    body: Json = {"id": entry.id, "name": team.name, "created_at": _time(entry.created_at),
                  "updated_at": _time(entry.updated_at), "description": entry.description,
                  "hidden": team.kind is not TeamKind.REGULAR}
    if viewer is not None:
        role = team.members.get(viewer.id)
        body["role"] = role.value if role else None
        body["users_count"] = len(team.members)
        body["namespaces_count"] = sum(
            1 for ns in services.index.namespaces.values() if ns.team_id == team.id)
    return body


def namespace_json(services: Services, ns: NamespaceRecord) -> Json:
    entry = _entry(services, ns.id)
    team = services.index.teams.get(ns.team_id)
    team_entry = services.directory.entry_of(ns.team_id)
    registry = services.index.registry
    name = ns.name
    if ns.kind is NamespaceKind.GLOBAL and registry is not None:
        name = registry.external_hostname or registry.hostname  # Portus's clean_name
    return {"id": entry.id, "name": name, "created_at": _time(entry.created_at),
            "updated_at": _time(entry.updated_at), "description": entry.description,
            "team": {"id": team_entry.id if team_entry else None,
                     "name": team.name if team else None,
                     "hidden": team.kind is not TeamKind.REGULAR if team else True},
            "visibility": ns.visibility.value, "global": ns.kind is NamespaceKind.GLOBAL}


def member_json(services: Services, team: TeamRecord, user: UserRecord, role: Role,
                viewer: UserRecord) -> Json:
    user_entry = _entry(services, user.id)
    team_entry = _entry(services, team.id)
    since = services.directory.member_since(team.id, user.id)
    return {"id": user_entry.id, "team_id": team_entry.id, "user_id": user_entry.id,
            "created_at": _time(since), "updated_at": _time(since), "role": role.value,
            "display_name": user.display_name or user.username, "admin": user.admin,
            "current": user.id == viewer.id}


def token_json(entry: Entry) -> Json:
    return {"id": entry.id, "application": entry.name}


def registry_json(services: Services) -> Json | None:
    registry = services.index.registry
    entries = services.directory.entries(Kind.REGISTRY)
    if registry is None or not entries:
        return None
    entry = entries[0]
    return {"id": entry.id, "name": registry.name, "hostname": registry.hostname,
            "external_hostname": registry.external_hostname, "use_ssl": registry.use_ssl,
            "created_at": _time(entry.created_at), "updated_at": _time(entry.updated_at)}
