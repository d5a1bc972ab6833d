"""Who may manage what: Portus's management rules (portus.md §1.4, §3.2, F7, F8, F15), pure.

Each check takes facts about the actor, the target and the switches in force and either returns
or raises a `DomainError` whose message says why. Hidden teams (personal, admins) answer "not
found" to everyone, as in Portus. Holes of Portus fixed here (portus.md §7): application tokens are
managed only by their owner, or by admins for bots (§7.10); team deletion works whatever
`delete.contributors` says (§7.13).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from domain.errors import DomainError, ForbiddenError, NotAllowedError, NotFoundError
from domain.policy import NamespaceFacts, Principal, repository_decisions
from domain.values import AccessRules, Action, NamespaceKind, Role, TeamKind, Visibility


@dataclass(frozen=True)
class Switches:
    """The `user_permission.*` switches and the access rules (portus.md §1.10)."""

    change_visibility: bool = True
    create_team: bool = True
    manage_team: bool = True
    create_namespace: bool = True
    manage_namespace: bool = True
    rules: AccessRules = field(default_factory=AccessRules)


@dataclass(frozen=True)
class TeamFacts:
    id: UUID
    kind: TeamKind
    role: Role | None
    """The actor's role in the team, None when not a member."""


class UnprocessableError(DomainError):
    status = 422


def _forbidden() -> ForbiddenError:
    return ForbiddenError("Authorization fails")


def _visible_team(team: TeamFacts) -> None:
    if team.kind is not TeamKind.REGULAR:
        raise NotFoundError("Not found", field="team")


# -- teams ----------------------------------------------------------------------------------------


def may_view_team(actor: Principal, team: TeamFacts) -> None:
    _visible_team(team)
    if not actor.admin and team.role is None:
        raise _forbidden()


def may_create_team(actor: Principal, switches: Switches, *, for_other_owner: bool) -> None:
    if actor.admin:
        return
    if for_other_owner:
        raise ForbiddenError("Only admins may create a team for another owner", field="owner_id")
    if not switches.create_team:
        raise _forbidden()


def may_update_team(actor: Principal, team: TeamFacts, switches: Switches) -> None:
    _visible_team(team)
    if actor.admin:
        return
    if not (switches.manage_team and team.role is Role.OWNER):
        raise _forbidden()


def may_manage_members(actor: Principal, team: TeamFacts) -> None:
    """Add, change or remove members: team owners and admins, no switch (§3.2)."""
    _visible_team(team)
    if not (actor.admin or team.role is Role.OWNER):
        raise _forbidden()


def may_delete_team(actor: Principal, team: TeamFacts, switches: Switches) -> None:
    _visible_team(team)
    if not switches.rules.delete_enabled:
        raise NotAllowedError("Deletion is disabled on this instance", field="team")
    if not (actor.admin or team.role is Role.OWNER):
        raise _forbidden()


def member_role(role: Role, *, user_is_admin: bool) -> Role:
    """Admins are owners of every team they are in (F21)."""
    return Role.OWNER if user_is_admin else role


def may_change_member_role(role: Role, *, user_is_admin: bool) -> None:
    if user_is_admin and role is not Role.OWNER:
        raise UnprocessableError("User cannot be demoted because it's a Portus admin",
                                 field="role")


# -- namespaces -----------------------------------------------------------------------------------


def _push_allowed(actor: Principal, ns: NamespaceFacts, role: Role | None,
                  rules: AccessRules) -> bool:
    return repository_decisions(actor, ns, role, rules)[Action.PUSH].allowed


def may_view_namespace(actor: Principal | None, ns: NamespaceFacts, role: Role | None,
                       rules: AccessRules) -> bool:
    """Portus's `show?` is `pull?`: protected namespaces are visible to every signed-in user."""
    return repository_decisions(actor, ns, role, rules)[Action.PULL].allowed


def may_create_namespace(actor: Principal, team: TeamFacts, switches: Switches) -> None:
    """(create_namespace on, or admin) and the actor may push into the new namespace."""
    _visible_team(team)
    if actor.admin:
        return
    if not switches.create_namespace:
        raise _forbidden()
    would_be = NamespaceFacts("", NamespaceKind.TEAM, Visibility.PRIVATE, team.id)
    if not _push_allowed(actor, would_be, team.role, switches.rules):
        raise _forbidden()


def may_update_namespace(actor: Principal, ns: NamespaceFacts, role: Role | None,
                         switches: Switches) -> None:
    """Name, description and team: admins, or owners with manage_namespace and push rights."""
    if actor.admin:
        return
    if not (switches.manage_namespace and role is Role.OWNER
            and _push_allowed(actor, ns, role, switches.rules)):
        raise _forbidden()


def may_describe_repository(actor: Principal, role: Role | None) -> None:
    """A repository's description: admins and owners of its namespace's team (portus.md §3.2;
    no switch applies)."""
    if not (actor.admin or role is Role.OWNER):
        raise _forbidden()


def may_move_namespace(actor: Principal, ns: NamespaceFacts, role: Role | None,
                       destination: TeamFacts, switches: Switches) -> None:
    may_update_namespace(actor, ns, role, switches)
    _visible_team(destination)
    if not actor.admin and destination.role is None:
        # Deliberate change from Portus: one may only hand a namespace to a team one is in.
        raise ForbiddenError("You are not a member of the destination team", field="team")


def may_change_visibility(actor: Principal, ns: NamespaceFacts, role: Role | None,
                          switches: Switches) -> None:
    if actor.admin:
        return
    if ns.kind is NamespaceKind.GLOBAL or not (switches.change_visibility
                                               and role is Role.OWNER):
        raise _forbidden()


def may_delete_namespace(actor: Principal, ns: NamespaceFacts, role: Role | None,
                         switches: Switches) -> None:
    if ns.kind is NamespaceKind.GLOBAL:
        raise UnprocessableError("Cannot remove global namespace", field="namespace")
    if ns.kind is NamespaceKind.PERSONAL:
        raise UnprocessableError("Cannot remove personal namespace", field="namespace")
    rules = switches.rules
    if not rules.delete_enabled:
        raise NotAllowedError("Deletion is disabled on this instance", field="namespace")
    if actor.admin or role is Role.OWNER:
        return
    if role is Role.CONTRIBUTOR and rules.delete_contributors:
        return
    raise _forbidden()


# -- users ----------------------------------------------------------------------------------------


def may_manage_tokens_of(actor: Principal, target_id: UUID, *, target_is_bot: bool) -> None:
    """Portus let anyone create tokens for anyone (§7.10): only oneself, or admins for bots."""
    if actor.user_id == target_id or (actor.admin and target_is_bot):
        return
    raise _forbidden()


def may_toggle_admin(actor: Principal, target_id: UUID) -> None:
    if not actor.admin:
        raise _forbidden()
    if actor.user_id == target_id:
        raise ForbiddenError("You cannot change your own admin flag", field="admin")


def may_set_enabled(actor: Principal, target_id: UUID, *, enable: bool,
                    target_is_last_enabled_admin: bool) -> None:
    """F7: admins disable anyone, users themselves; only admins re-enable; never the last
    enabled admin."""
    if enable:
        if not actor.admin:
            raise _forbidden()
        return
    if not (actor.admin or actor.user_id == target_id):
        raise _forbidden()
    if target_is_last_enabled_admin:
        raise UnprocessableError("Cannot disable the last enabled admin", field="enabled")
