"""Deciding a token request against the permission projection with the pure policy."""

from __future__ import annotations

from dataclasses import dataclass

from domain.policy import (
    Decision,
    Principal,
    catalog_decision,
    grant,
    repository_decisions,
)
from domain.scopes import Scope, namespace_of
from domain.values import Action
from projections.permissions import PermissionIndex


@dataclass(frozen=True)
class ScopeDecision:
    scope: Scope
    granted: tuple[str, ...]
    reasons: dict[str, str]
    """Why each requested action was granted or denied, for the decision record."""


def decide(index: PermissionIndex, principal: Principal | None, service: str,
           scopes: list[Scope]) -> list[ScopeDecision]:
    """Every requested scope with the subset of its actions that is granted (maybe none)."""
    registry = index.registry
    if registry is None or not registry.serves(service):
        return [_denied(scope, "unknown service") for scope in scopes]
    return [_decide_one(index, principal, scope) for scope in scopes]


def access_claim(decisions: list[ScopeDecision]) -> list[dict[str, object]]:
    """The JWT `access` claim: granted scopes only (docker-token-auth.md §0.4)."""
    return [{"type": d.scope.type, "name": d.scope.name, "actions": list(d.granted)}
            for d in decisions if d.granted]


def _decide_one(index: PermissionIndex, principal: Principal | None,
                scope: Scope) -> ScopeDecision:
    if scope.type == "registry":
        if scope.name != "catalog":
            return _denied(scope, "unknown registry resource")
        verdicts = {a: catalog_decision(principal, a) for a in scope.actions}
        granted = tuple(a for a in dict.fromkeys(scope.actions) if verdicts[a].allowed)
        return ScopeDecision(scope, granted, {a: v.reason for a, v in verdicts.items()})
    if scope.type != "repository":
        return _denied(scope, "unknown resource type")
    ns_name = namespace_of(scope.name)
    record = index.global_namespace() if ns_name is None else index.namespace_named(ns_name)
    facts = record.facts() if record else None
    role = index.role_of(principal.user_id if principal else None,
                         record.team_id) if record else None
    decisions = repository_decisions(principal, facts, role, index.rules)
    return ScopeDecision(scope, grant(scope.actions, decisions),
                         {a: _reason(decisions, a) for a in scope.actions})


def _reason(decisions: dict[Action, Decision], action: str) -> str:
    try:
        return decisions[Action(action)].reason
    except ValueError:
        return "unknown action"


def _denied(scope: Scope, reason: str) -> ScopeDecision:
    return ScopeDecision(scope, (), {a: reason for a in scope.actions})
