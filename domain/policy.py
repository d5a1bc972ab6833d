"""The authorization policy: a pure function from principal facts and a scope to granted actions.

It implements Portus's matrix (portus.md §2.4, §3.1) with its holes fixed (§7.1, §2.3): every
requested action is decided on its own, only `pull`, `push`, `delete` and `*` are recognised, and
`*` is granted only where delete is. Deny is not an error: callers get the granted subset, possibly
empty, and a reason for every decision so decision records can say why.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from domain.values import AccessRules, Action, NamespaceKind, PushPolicy, Role, Visibility


@dataclass(frozen=True)
class Principal:
    """An authenticated, enabled user. Anonymous requests have no principal."""

    user_id: UUID
    username: str
    admin: bool


@dataclass(frozen=True)
class NamespaceFacts:
    name: str
    kind: NamespaceKind
    visibility: Visibility
    team_id: UUID


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str


def repository_decisions(
    principal: Principal | None,
    namespace: NamespaceFacts | None,
    role: Role | None,
    rules: AccessRules,
) -> dict[Action, Decision]:
    """Decide pull, push and delete (and `*`) on a repository of `namespace`.

    `namespace` is None when no such namespace exists; `role` is the principal's role in the
    namespace's team (None for non-members and anonymous requests).
    """
    pull = _pull(principal, namespace, role)
    push = _push(principal, namespace, role, rules)
    delete = _delete(principal, namespace, role, rules)
    return {Action.PULL: pull, Action.PUSH: push, Action.DELETE: delete, Action.ALL: delete}


def _pull(principal: Principal | None, ns: NamespaceFacts | None, role: Role | None) -> Decision:
    if ns is not None and ns.visibility is Visibility.PUBLIC:
        return Decision(True, "public namespace")
    if principal is None:
        return Decision(False, "anonymous request")
    if principal.admin:
        return Decision(True, "admin")
    if ns is None:
        return Decision(False, "unknown namespace")
    if ns.visibility is Visibility.PROTECTED:
        return Decision(True, "protected namespace, signed-in user")
    if role is not None:
        return Decision(True, f"team {role.value}")
    return Decision(False, "not a member of the namespace's team")


def _push(
    principal: Principal | None, ns: NamespaceFacts | None, role: Role | None, rules: AccessRules
) -> Decision:
    if principal is None:
        return Decision(False, "anonymous request")
    if principal.admin:
        return Decision(True, "admin")
    if ns is None:
        return Decision(False, "unknown namespace")
    policy = rules.push_policy
    if policy is PushPolicy.ADMIN_ONLY:
        return Decision(False, "push policy admin-only")
    if ns.kind is NamespaceKind.PERSONAL and role is Role.OWNER:
        return Decision(True, "own personal namespace")
    if policy is PushPolicy.ALLOW_PERSONAL:
        return Decision(False, "push policy allow-personal")
    if ns.kind is NamespaceKind.GLOBAL:
        return Decision(False, "global namespace, admins only")
    if role in (Role.OWNER, Role.CONTRIBUTOR):
        return Decision(True, f"team {role.value}")
    if role is Role.VIEWER:
        return Decision(False, "team viewer")
    return Decision(False, "not a member of the namespace's team")


def _delete(
    principal: Principal | None, ns: NamespaceFacts | None, role: Role | None, rules: AccessRules
) -> Decision:
    if principal is None:
        return Decision(False, "anonymous request")
    if not rules.delete_enabled:
        return Decision(False, "delete disabled")
    if principal.admin:
        return Decision(True, "admin")
    if ns is None:
        return Decision(False, "unknown namespace")
    if role is Role.OWNER:
        return Decision(True, "team owner")
    if role is Role.CONTRIBUTOR:
        if rules.delete_contributors:
            return Decision(True, "team contributor, delete.contributors")
        return Decision(False, "team contributor without delete.contributors")
    if role is Role.VIEWER:
        return Decision(False, "team viewer")
    return Decision(False, "not a member of the namespace's team")


def catalog_decision(principal: Principal | None, action: str) -> Decision:
    """`registry:catalog:*` is for admins only, and the registry wants the literal `*`."""
    if action != Action.ALL.value:
        return Decision(False, "only '*' is defined on the catalog")
    if principal is not None and principal.admin:
        return Decision(True, "admin")
    return Decision(False, "catalog is for admins only")


def grant(requested: tuple[str, ...], decisions: dict[Action, Decision]) -> tuple[str, ...]:
    """The requested actions that are allowed, in request order, each once."""
    granted: list[str] = []
    for name in requested:
        try:
            action = Action(name)
        except ValueError:
            continue
        if decisions[action].allowed and name not in granted:
            granted.append(name)
    return tuple(granted)
