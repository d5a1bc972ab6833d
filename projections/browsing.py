"""Which namespaces and teams a visitor may list (Portus's browsing scopes, portus.md §1.8).

A namespace is listed where the visitor may pull from it (domain.policy), so search, explore and
the console never show what the token endpoint would refuse. Teams: the non-hidden ones the user
belongs to, all non-hidden ones for admins.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from domain.policy import repository_decisions
from domain.values import Action
from projections.directory import Directory
from projections.permissions import NamespaceRecord, PermissionIndex, TeamRecord, UserRecord
from projections.repositories import RepositoryCatalog, RepositoryRecord


def may_see_namespace(index: PermissionIndex, user: UserRecord | None,
                      ns: NamespaceRecord) -> bool:
    principal = user.principal() if user and user.enabled else None
    role = index.role_of(user.id if user else None, ns.team_id)
    return repository_decisions(principal, ns.facts(), role, index.rules)[Action.PULL].allowed


def visible_namespaces(index: PermissionIndex, user: UserRecord | None) -> list[NamespaceRecord]:
    found = [ns for ns in index.namespaces.values() if may_see_namespace(index, user, ns)]
    return sorted(found, key=lambda ns: (ns.kind.value != "global", ns.name))


def visible_teams(index: PermissionIndex, user: UserRecord | None) -> list[TeamRecord]:
    if user is None:
        return []
    teams = [t for t in index.teams.values() if t.kind.value == "regular"
             and (user.admin or user.id in t.members)]
    return sorted(teams, key=lambda t: t.name)


def team_named(index: PermissionIndex, name: str) -> TeamRecord | None:
    for team in index.teams.values():
        if team.kind.value == "regular" and team.name == name:
            return team
    return None


@dataclass(frozen=True)
class Descriptions:
    """Descriptions of namespaces and teams by id, read from the directory (for lists and
    search; the permission index keeps only what decisions need)."""

    directory: Directory

    def get(self, key: UUID, default: str = "") -> str:
        entry = self.directory.entry_of(key)
        return entry.description if entry is not None else default


def visible_repositories(index: PermissionIndex, catalog: RepositoryCatalog,
                         user: UserRecord | None) -> list[RepositoryRecord]:
    """Repositories with tags in namespaces the visitor may pull from, by full name."""
    found = []
    for repo in catalog.listed():
        ns = index.namespaces.get(repo.namespace_id)
        if ns is not None and may_see_namespace(index, user, ns):
            found.append(repo)
    return sorted(found, key=lambda r: r.full_name)
