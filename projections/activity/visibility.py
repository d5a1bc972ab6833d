"""Who sees which activity: Portus's `PublicActivity::ActivityPolicy` (portus.md §1.13, last
paragraph), extended to the entries Portus never recorded.

Portus: team activities of the viewer's teams; every registry activity; namespace activities of
namespaces owned by the viewer's teams, plus visibility changes of public namespaces; repository
activities in the viewer's teams' namespaces or in public namespaces; application-token
activities of the viewer's own tokens; webhook activities in the viewer's teams' namespaces.
Wharfinger adds: the entries about a user (account changes, logins, failed logins, token
decisions) are the user's own. Admins and auditors see everything. As in Portus, visibility is
decided by current membership and visibility, not by what they were when the entry was made.
Generic entries (event types not yet mapped) are for admins and auditors only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from domain.values import Visibility
from projections.activity.entries import (
    APPLICATION_TOKEN,
    NAMESPACE,
    REGISTRY,
    REPOSITORY,
    TEAM,
    TOKEN,
    USER,
    WEBHOOK,
    Entry,
)
from projections.permissions import PermissionIndex


@dataclass(frozen=True)
class Viewer:
    user_id: str
    sees_everything: bool = False
    team_ids: frozenset[str] = field(default_factory=frozenset)
    namespace_ids: frozenset[str] = field(default_factory=frozenset)
    """Namespaces owned by the viewer's teams."""
    namespace_names: frozenset[str] = field(default_factory=frozenset)
    public_namespace_ids: frozenset[str] = field(default_factory=frozenset)
    public_namespace_names: frozenset[str] = field(default_factory=frozenset)


def viewer_of(index: PermissionIndex, user_id: object) -> Viewer:
    """The viewer's teams and namespaces from the permission projection (current state)."""
    user = index.users.get(user_id)  # type: ignore[call-overload]
    if user is None:
        return Viewer(user_id="")
    if user.admin or user.auditor:
        return Viewer(str(user.id), sees_everything=True)
    teams = {t.id for t in index.teams.values() if user.id in t.members}
    own = [ns for ns in index.namespaces.values() if ns.team_id in teams]
    public = [ns for ns in index.namespaces.values() if ns.visibility is Visibility.PUBLIC]
    return Viewer(str(user.id), team_ids=frozenset(map(str, teams)),
                  namespace_ids=frozenset(str(ns.id) for ns in own),
                  namespace_names=frozenset(ns.name for ns in own),
                  public_namespace_ids=frozenset(str(ns.id) for ns in public),
                  public_namespace_names=frozenset(ns.name for ns in public))


def can_see(viewer: Viewer, entry: Entry) -> bool:
    """The rule for one entry; `sql_filter` is the same rule for the store to apply."""
    if viewer.sees_everything:
        return True
    own_ns = (entry.namespace_id in viewer.namespace_ids if entry.namespace_id
              else entry.namespace_name in viewer.namespace_names)
    public_ns = (entry.namespace_id in viewer.public_namespace_ids if entry.namespace_id
                 else entry.namespace_name in viewer.public_namespace_names)
    match entry.trackable:
        case "team":
            return entry.team_id in viewer.team_ids
        case "registry":
            return True
        case "namespace":
            return own_ns or (entry.type == "namespace.change_visibility" and public_ns)
        case "repository":
            return own_ns or public_ns
        case "webhook":
            return own_ns
        case "user" | "application_token" | "token":
            return bool(entry.owner_id) and entry.owner_id == viewer.user_id
    return False


def sql_filter(viewer: Viewer) -> tuple[str, list[object]]:
    """`can_see` as a WHERE fragment with `?` placeholders, and its parameters."""
    if viewer.sees_everything:
        return "1=1", []
    params: list[object] = []

    def among(column: str, values: Iterable[str]) -> str:
        values = sorted(values)
        if not values:
            return "1=0"
        params.extend(values)
        return f"{column} IN ({', '.join('?' * len(values))})"

    def ns(ids: frozenset[str], names: frozenset[str]) -> str:
        by_id = among("namespace_id", ids)
        by_name = among("namespace_name", names)
        return f"((namespace_id <> '' AND {by_id}) OR (namespace_id = '' AND {by_name}))"

    def own() -> str:
        return ns(viewer.namespace_ids, viewer.namespace_names)

    def public() -> str:
        return ns(viewer.public_namespace_ids, viewer.public_namespace_names)

    clauses = [
        f"(trackable = '{TEAM}' AND {among('team_id', viewer.team_ids)})",
        f"trackable = '{REGISTRY}'",
        f"(trackable = '{NAMESPACE}' AND ({own()} OR"
        f" (type = 'namespace.change_visibility' AND {public()})))",
        f"(trackable = '{REPOSITORY}' AND ({own()} OR {public()}))",
        f"(trackable = '{WEBHOOK}' AND {own()})",
        f"(trackable IN ('{USER}', '{APPLICATION_TOKEN}', '{TOKEN}') AND owner_id <> ''"
        f" AND owner_id = ?)",
    ]
    params.append(viewer.user_id)
    return "(" + " OR ".join(clauses) + ")", params
