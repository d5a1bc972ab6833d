"""Value objects of the authorization vocabulary: roles, visibility, kinds and access rules.

Events store these as their plain string values (payloads are primitives); readers coerce back.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """A member's role in a team (portus.md §3.1)."""

    VIEWER = "viewer"
    CONTRIBUTOR = "contributor"
    OWNER = "owner"


class Visibility(StrEnum):
    """Who may pull from a namespace: team members, any signed-in user, or anyone (F20)."""

    PRIVATE = "private"
    PROTECTED = "protected"
    PUBLIC = "public"


class NamespaceKind(StrEnum):
    GLOBAL = "global"
    PERSONAL = "personal"
    TEAM = "team"


class TeamKind(StrEnum):
    """Personal and admins teams are hidden: nobody edits them by hand (portus.md §3.2)."""

    REGULAR = "regular"
    PERSONAL = "personal"
    ADMINS = "admins"


class PushPolicy(StrEnum):
    """`user_permission.push_images.policy` (portus.md §3.1, push-policy variants)."""

    ALLOW_TEAMS = "allow-teams"
    ALLOW_PERSONAL = "allow-personal"
    ADMIN_ONLY = "admin-only"


class Action(StrEnum):
    """The registry actions Wharfinger recognises; any other requested action is dropped."""

    PULL = "pull"
    PUSH = "push"
    DELETE = "delete"
    ALL = "*"


@dataclass(frozen=True)
class AccessRules:
    """The configuration switches that change authorization decisions.

    They are recorded as events when they change, so a decision can be replayed with the rules in
    force at its time.
    """

    push_policy: PushPolicy = PushPolicy.ALLOW_TEAMS
    delete_enabled: bool = True
    delete_contributors: bool = False

MAX_DESCRIPTION_LENGTH = 16384
"""Descriptions of namespaces, teams and repositories (markdown in Portus): the API
and the console refuse longer ones whole."""
