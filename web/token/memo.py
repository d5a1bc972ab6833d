"""Memoized token decisions: the same principal asking the same service for the same scopes
gets the same answer until the permission projection moves.

`docker pull` and CI runners ask for a handful of scopes over and over; deciding them again
(policy lookups, the per-action reasons, the access claim and the decision record's fields) was
about 15% of a token request. An entry is keyed by the whole principal (id, name, admin flag),
the service and the parsed scopes, and every entry is dropped as soon as the projection applies
another event (its position moves), so a grant, a revocation or a visibility change is honoured
exactly as before: never a stale answer, only a repeated one.

A decision also keeps what was encoded from it (`Decided.prepared`: the decision record's fixed
fields and the token's fixed claims as JSON text, web.token.decision_records), so a repeated
request encodes only what changes per request. Those encodings live and die with their decision:
when the projection moves, the memo drops the decision and its encodings with it, so a token never
carries a grant from a pre-encoded fragment that the current decision would not give.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from domain.policy import Principal
from domain.scopes import Scope, parse_scopes
from projections.permissions import PermissionIndex
from projections.token_access import ScopeDecision, access_claim, decide

MAX_ENTRIES = 4096
MAX_PREPARED = 16
"""Encodings per decision: one per kind of credential the same user presents, a handful."""
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Decided:
    """One decision and everything derived from it that a token and its record need. Shared
    between requests: read it, never change it."""

    decisions: tuple[ScopeDecision, ...]
    access: list[dict[str, object]]
    """The JWT `access` claim (granted scopes only)."""
    granted: tuple[Scope, ...]
    scope_text: str
    """The granted scopes, space-separated (the OAuth2 answer's `scope`)."""
    requested: list[str]
    granted_text: list[str]
    reasons: dict[str, dict[str, str]]
    prepared: dict[object, object] = field(default_factory=dict, compare=False, repr=False)
    """Encodings derived from this decision, by a key their maker chooses (the only mutable
    part, a cache: anything in it is computed from the fields above and the key alone)."""

    def prepare(self, key: object, make: Callable[[], T]) -> T:
        """What `make` returns, made once per key for this decision."""
        found = self.prepared.get(key)
        if found is None:
            if len(self.prepared) >= MAX_PREPARED:
                self.prepared.clear()
            found = self.prepared[key] = make()
        return found  # type: ignore[return-value]


class DecisionMemo:
    def __init__(self, index: PermissionIndex, max_entries: int = MAX_ENTRIES) -> None:
        self._index = index
        self._max_entries = max_entries
        self._position = index.position
        self._entries: dict[tuple[Principal | None, str, tuple[Scope, ...]], Decided] = {}

    def decide(self, principal: Principal | None, service: str,
               scopes: tuple[Scope, ...]) -> Decided:
        if self._index.position != self._position:
            self._entries.clear()
            self._position = self._index.position
        key = (principal, service, scopes)
        found = self._entries.get(key)
        if found is None:
            if len(self._entries) >= self._max_entries:
                self._entries.clear()  # many distinct requests: start over, cheaper than LRU
            found = self._entries[key] = _decided(
                decide(self._index, principal, service, list(scopes)))
        return found


def _decided(decisions: list[ScopeDecision]) -> Decided:
    granted = tuple(Scope(d.scope.type, d.scope.name, d.granted) for d in decisions if d.granted)
    return Decided(
        decisions=tuple(decisions), access=access_claim(decisions), granted=granted,
        scope_text=" ".join(str(scope) for scope in granted),
        requested=[str(d.scope) for d in decisions],
        granted_text=[str(scope) for scope in granted],
        reasons={str(d.scope): dict(d.reasons) for d in decisions})


@functools.lru_cache(maxsize=MAX_ENTRIES)
def parse_scope_values(values: tuple[str, ...]) -> tuple[Scope, ...]:
    """`parse_scopes` of a request's `scope` values, cached whole (clients repeat them);
    errors are raised, never cached."""
    return tuple(parse_scopes(list(values)))
