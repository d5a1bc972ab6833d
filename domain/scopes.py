"""The Docker token scope grammar (Distribution docs/spec/auth/scope.md).

`scope = resourcetype ":" resourcename ":" action *("," action)`. A resource name may itself hold
one `:` (a registry host's port), so a scope splits on its first and its last colon
(docker-token-auth.md §1.2). Scopes that do not parse are malformed requests (400); scopes that
parse but name unknown types or actions are simply not granted.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from domain.errors import InvalidInputError

MAX_SCOPES = 64
"""A registry asks for at most a handful; hundreds are abuse."""
MAX_SCOPE_LENGTH = 512
MAX_ACTIONS = 8

_RESOURCE_TYPE = re.compile(r"[a-z0-9]+(?:\([a-z0-9]+\))?")
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST = r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]+)?/"
_RESOURCE_NAME = re.compile(rf"(?:{_HOST})?{_COMPONENT}(?:/{_COMPONENT})*")
_ACTION = re.compile(r"[a-z]*|\*")
MAX_NAME_LENGTH = 255


@dataclass(frozen=True)
class Scope:
    type: str
    name: str
    actions: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.type}:{self.name}:{','.join(self.actions)}"


class ScopeError(InvalidInputError):
    def __init__(self, message: str) -> None:
        super().__init__(message, field="scope")


@functools.lru_cache(maxsize=4096)
def parse_scope(text: str) -> Scope:
    """One `type:name:actions` scope. Cached: clients ask for the same few scopes over and over,
    and a `Scope` is immutable; errors are raised, never cached."""
    if len(text) > MAX_SCOPE_LENGTH:
        raise ScopeError(f"is longer than {MAX_SCOPE_LENGTH} characters")
    first, last = text.find(":"), text.rfind(":")
    if first < 0 or first == last:
        raise ScopeError(f"{text!r} is malformed: expected type:name:actions")
    rtype, name, actions_text = text[:first], text[first + 1 : last], text[last + 1 :]
    if not _RESOURCE_TYPE.fullmatch(rtype):
        raise ScopeError(f"{text!r} is malformed: bad resource type")
    if len(name) > MAX_NAME_LENGTH or not _RESOURCE_NAME.fullmatch(name):
        raise ScopeError(f"{text!r} is malformed: bad resource name")
    actions = tuple(actions_text.split(","))
    if len(actions) > MAX_ACTIONS or not all(_ACTION.fullmatch(a) for a in actions):
        raise ScopeError(f"{text!r} is malformed: bad actions")
    return Scope(rtype, name, actions)


def parse_scopes(values: list[str]) -> list[Scope]:
    """Parse every `scope` parameter; each value may hold several scopes separated by spaces.

    Scopes for the same (type, name) are merged, actions de-duplicated in request order
    (skopeo repeats scopes with actions in any order, docker-token-auth.md §3.4).
    """
    merged: dict[tuple[str, str], list[str]] = {}
    count = 0
    for value in values:
        for part in value.split(" "):
            if not part:
                continue
            count += 1
            if count > MAX_SCOPES:
                raise ScopeError(f"too many scopes: at most {MAX_SCOPES} per request")
            scope = parse_scope(part)
            actions = merged.setdefault((scope.type, scope.name), [])
            actions.extend(a for a in scope.actions if a not in actions)
    return [Scope(t, n, tuple(a)) for (t, n), a in merged.items()]


def namespace_of(repository: str) -> str | None:
    """The namespace a repository name lives in; None means the global namespace.

    `busybox` → global; `team/app` → `team`; nested `a/b/c` → `a` (portus.md §2.3).
    """
    head, sep, _ = repository.partition("/")
    return head if sep else None
