"""Management commands of the REST API and CLI: bots, profile changes, deletions, team and
namespace edits (portus.md §1.4, F7, F8, F15, F21, F22).

Each command is one `save()`; a name taken or freed is claimed or released in the same save.
Deletion records a `Deleted` event and releases the names; ids are never reused. Who may run a
command is decided before, by `domain.management_policy`; the guards here are the invariants that
hold whoever asks (admins are owners, a team keeps an owner, hidden teams are not edited).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.errors import DomainError, InvalidInputError, LastOwnerError, NotFoundError
from domain.events import Created, Event
from domain.management_policy import (
    Switches,
    UnprocessableError,
    may_change_member_role,
    member_role,
)
from domain.names import NameClaim, check_email, check_namespace_name
from domain.namespaces import Namespace
from domain.registries import ADMINS_TEAM_ID, REGISTRY_ID, Registry
from domain.teams import Team
from domain.users import User
from domain.values import NamespaceKind, Role, TeamKind, Visibility

T = TypeVar("T")


SWITCHES_ID = uuid5(NAMESPACE_URL, "https://wharfinger.dev/ids/management-switches")


class SwitchesRecord(Aggregate):
    """The `user_permission.*` switches in force, recorded when the service starts with new
    values, so management decisions can be replayed with the rules of their time."""

    class Recorded(Created):
        switches: dict[str, bool]

        def apply(self, record: SwitchesRecord) -> None:
            record.switches = dict(self.switches)

    class Changed(Event):
        switches: dict[str, bool]

        def apply(self, record: SwitchesRecord) -> None:
            record.switches = dict(self.switches)

    def __init__(self) -> None:
        self.switches: dict[str, bool] = {}


ADMIN_GUARD_ID = uuid5(NAMESPACE_URL, "https://wharfinger.dev/ids/admin-guard")


class AdminGuard(Aggregate):
    """Serialises every command that takes an enabled admin away (disabling, revoking the admin
    flag, deleting the account): each records here, so two such commands at once conflict on
    this aggregate and the second re-checks (F7: never the last enabled admin). A command reads
    the guard before anything else, so whatever it reads after is at least as new as the guard's
    version it saves on top of."""

    class Started(Created):
        pass

    class AdminDisabled(Event):
        user_id: UUID

    class AdminRevoked(Event):
        user_id: UUID

    class AdminDeleted(Event):
        user_id: UUID

    @classmethod
    def start(cls) -> AdminGuard:
        return cls._create(cls.Started, id=ADMIN_GUARD_ID)

    def admin_disabled(self, user_id: UUID) -> None:
        self.trigger_event(self.AdminDisabled, user_id=user_id)

    def admin_revoked(self, user_id: UUID) -> None:
        self.trigger_event(self.AdminRevoked, user_id=user_id)

    def admin_deleted(self, user_id: UUID) -> None:
        self.trigger_event(self.AdminDeleted, user_id=user_id)


def _switch_values(switches: Switches) -> dict[str, bool]:
    return {"change_visibility": switches.change_visibility,
            "create_team": switches.create_team, "manage_team": switches.manage_team,
            "create_namespace": switches.create_namespace,
            "manage_namespace": switches.manage_namespace}


class ManagementCommands:
    if TYPE_CHECKING:  # provided by Wharfinger
        def _get(self, cls: type[T], aggregate_id: UUID) -> T: ...
        def _find(self, cls: type[T], aggregate_id: UUID) -> T | None: ...
        def _run(self, command: Callable[[], list[Aggregate]], *,
                 return_recordings: bool = False) -> list[Any]: ...
        def _claim(self, kind: str, name: str, owner_id: UUID) -> NameClaim: ...
        def _release(self, kind: str, name: str, owner_id: UUID) -> list[Aggregate]: ...
        def register_user(self, *, username: str, email: str, password_hash: str | None,
                          admin: bool = False, bot: bool = False) -> User: ...
        def _promotions(self, user_id: UUID, team_ids: list[UUID]) -> list[Aggregate]: ...
        def repositories_holding_tags(self, namespace_ids: set[UUID] | None = None, *,
                                      first_only: bool = False) -> list[str]: ...

    def record_switches(self, switches: Switches) -> bool:
        """Record the `user_permission.*` switches if they differ from the last recorded."""
        values = _switch_values(switches)

        def command() -> list[Aggregate]:
            try:
                record = self._get(SwitchesRecord, SWITCHES_ID)
            except NotFoundError:
                return [SwitchesRecord._create(SwitchesRecord.Recorded, id=SWITCHES_ID,
                                               switches=values)]
            if record.switches == values:
                return []
            record.trigger_event(SwitchesRecord.Changed, switches=values)
            return [record]

        return bool(self._run(command))

    # -- users ----------------------------------------------------------------------------------

    def create_bot(self, *, username: str, token_hash: str) -> tuple[User, UUID]:
        """F15: a bot (no email, no password, no personal namespace) with a `default` token."""
        user = self.register_user(username=username, email="", password_hash=None, bot=True)
        created: list[UUID] = []

        def command() -> list[Aggregate]:
            bot = self._live_user(user.id)
            created[:] = [bot.create_application_token("default", token_hash)]
            return [bot]

        self._run(command)
        return user, created[0]

    def update_user(self, user_id: UUID, *, email: str | None = None,
                    display_name: str | None = None, password_hash: str | None = None) -> None:
        def command() -> list[Aggregate]:
            user = self._live_user(user_id)
            aggregates: list[Aggregate] = [user]
            new_email = None if email is None else check_email(email, required=not user.bot)
            if new_email is not None and new_email != user.email:
                if new_email:
                    aggregates.append(self._claim("email", new_email, user.id))
                if user.email:
                    aggregates.extend(self._release("email", user.email, user.id))
                user.change_email(new_email)
            if display_name is not None:
                user.set_display_name(display_name or None)
            if password_hash is not None:
                user.change_password(password_hash)
            return aggregates

        self._run(command)

    def delete_user(self, user_id: UUID, *, team_ids: Iterable[UUID],
                    personal: Iterable[tuple[UUID, UUID]]) -> None:
        """Delete an account: it leaves `team_ids` (refused if it is a team's only owner), its
        personal namespace and team (`personal`: (namespace id, team id)) go (refused while the
        namespace holds repositories), its names are free."""
        team_ids, personal = list(team_ids), list(personal)

        def command() -> list[Aggregate]:
            guard = self._admin_guard()
            user = self._live_user(user_id)
            aggregates: list[Aggregate] = [user]
            if user.admin and user.enabled:
                self._refuse_if_last_enabled_admin(
                    user_id, "Cannot delete the last enabled admin", field="user")
                guard.admin_deleted(user_id)
                aggregates.append(guard)
            aggregates.extend(self._release("user", user.username, user.id))
            if user.email:
                aggregates.extend(self._release("email", user.email, user.id))
            for team_id in team_ids:
                team = self._get(Team, team_id)
                if team.deleted or team.role_of(user_id) is None:
                    continue
                if team.kind is TeamKind.PERSONAL:
                    continue
                try:
                    team.remove_member(user_id)
                except LastOwnerError:
                    raise LastOwnerError(
                        f"{user.username} is the only owner of team '{team.name}'; "
                        "give the team another owner first", field="user") from None
                aggregates.append(team)
            for namespace_id, personal_team_id in personal:
                ns = self._get(Namespace, namespace_id)
                team = self._get(Team, personal_team_id)
                if ns.kind is not NamespaceKind.PERSONAL or team.role_of(user_id) is not Role.OWNER:
                    continue
                # Its images would stay in the registry with nobody able to see or delete them.
                ns.refuse_if_holding(self.repositories_holding_tags({ns.id}), field="user")
                ns.delete(owner_gone=True)
                team.delete()
                aggregates.extend([ns, team])
                aggregates.extend(self._release("namespace", ns.name, ns.id))
            user.delete()
            return aggregates

        self._run(command)

    def set_user_enabled(self, user_id: UUID, enabled: bool) -> None:
        """Enable or disable an account; never the last enabled admin (F7), even when two
        admins disable each other at the same time."""

        def command() -> list[Aggregate]:
            guard = self._admin_guard()
            user = self._live_user(user_id)
            if enabled:
                user.enable()
                return [user]
            if not (user.admin and user.enabled):
                user.disable()
                return [user]
            self._refuse_if_last_enabled_admin(
                user_id, "Cannot disable the last enabled admin", field="enabled")
            guard.admin_disabled(user_id)
            user.disable()
            return [user, guard]

        self._run(command)

    def _admin_guard(self) -> AdminGuard:
        """Read first by a command that may take an enabled admin away (see AdminGuard)."""
        try:
            return self._get(AdminGuard, ADMIN_GUARD_ID)
        except NotFoundError:
            return AdminGuard.start()

    def _refuse_if_last_enabled_admin(self, user_id: UUID, message: str, *, field: str) -> None:
        """Refuse when no admin but `user_id` is enabled. Only the admins team's members can be
        admins (grant_admin adds them); before the registry is set up there is no such team and
        nothing to lock anyone out of."""
        admins = self._find(Team, ADMINS_TEAM_ID)
        if admins is None:
            return
        others = (self._find(User, UUID(member)) for member in admins.members
                  if UUID(member) != user_id)
        if not any(o is not None and o.admin and o.enabled and not o.deleted for o in others):
            raise UnprocessableError(message, field=field)

    # -- teams ----------------------------------------------------------------------------------

    def update_team(self, team_id: UUID, *, name: str | None = None,
                    description: str | None = None) -> None:
        if name is not None:
            check_namespace_name(name)

        def command() -> list[Aggregate]:
            team = self._regular_team(team_id)
            aggregates: list[Aggregate] = [team]
            if name is not None and name != team.name:
                aggregates.append(self._claim("team", name, team.id))
                aggregates.extend(self._release("team", team.name, team.id))
                team.rename(name)
            if description is not None:
                team.set_description(description)
            return aggregates

        self._run(command)

    def delete_team(self, team_id: UUID, *, namespace_ids: Iterable[UUID],
                    new_team_id: UUID | None = None) -> None:
        """Delete a team; its namespaces move to `new_team_id`, or are deleted with it."""
        namespace_ids = list(namespace_ids)

        def command() -> list[Aggregate]:
            team = self._regular_team(team_id)
            aggregates: list[Aggregate] = [team]
            destination = None
            if new_team_id is not None:
                if new_team_id == team_id:
                    raise InvalidInputError("cannot migrate namespaces to the team being deleted",
                                            field="new_team")
                destination = self._regular_team(new_team_id, field="new_team")
            held = ([] if destination is not None
                    else self.repositories_holding_tags(set(namespace_ids)))
            for namespace_id in namespace_ids:
                ns = self._get(Namespace, namespace_id)
                if ns.deleted or ns.team_id != team_id:
                    continue
                if destination is None:
                    # Deleting the namespaces would orphan their images in the registry.
                    ns.refuse_if_holding(held, field="new_team")
                if destination is not None:
                    ns.move_to_team(destination.id)
                else:
                    ns.delete()
                    aggregates.extend(self._release("namespace", ns.name, ns.id))
                aggregates.append(ns)
            aggregates.extend(self._release("team", team.name, team.id))
            team.delete()
            return aggregates

        self._run(command)

    def add_team_member(self, team_id: UUID, user_id: UUID, role: Role) -> Role:
        """Add a member; an admin always joins as owner (F21). Returns the role given."""
        given: list[Role] = []

        def command() -> list[Aggregate]:
            user = self._live_user(user_id, field="user")
            team = self._regular_team(team_id)
            given[:] = [member_role(role, user_is_admin=user.admin)]
            team.add_member(user_id, given[0])
            return [team]

        self._run(command)
        # An admin grant saved after the command read the user did not see this team yet.
        self._run(lambda: self._promotions(user_id, [team_id])
                  if self._get(User, user_id).admin else [])
        return given[0]

    def change_team_member_role(self, team_id: UUID, user_id: UUID, role: Role) -> None:
        def command() -> list[Aggregate]:
            user = self._get(User, user_id)
            team = self._regular_team(team_id)
            may_change_member_role(role, user_is_admin=user.admin)
            team.change_role(user_id, role)
            return [team]

        self._run(command)

    def remove_team_member(self, team_id: UUID, user_id: UUID) -> None:
        def command() -> list[Aggregate]:
            team = self._regular_team(team_id)
            team.remove_member(user_id)
            return [team]

        self._run(command)

    # -- namespaces -----------------------------------------------------------------------------

    def update_namespace(self, namespace_id: UUID, *, name: str | None = None,
                         description: str | None = None, visibility: Visibility | None = None,
                         team_id: UUID | None = None) -> None:
        if name is not None:
            check_namespace_name(name)

        def command() -> list[Aggregate]:
            ns = self._live_namespace(namespace_id)
            aggregates: list[Aggregate] = [ns]
            if name is not None and name != ns.name:
                if ns.holding or self.repositories_holding_tags({ns.id}, first_only=True):
                    # The registry keeps the images under the old path: a renamed namespace
                    # would list repositories nobody can pull under their new names.
                    raise InvalidInputError("Namespace is not empty, cannot change its name",
                                            field="name")
                aggregates.append(self._claim("namespace", name, ns.id))
                aggregates.extend(self._release("namespace", ns.name, ns.id))
                ns.rename(name)
            if description is not None:
                ns.set_description(description)
            if visibility is not None:
                ns.change_visibility(visibility)
            if team_id is not None and team_id != ns.team_id:
                self._regular_team(team_id)
                ns.move_to_team(team_id)
            return aggregates

        self._run(command)

    def delete_namespace(self, namespace_id: UUID) -> None:
        def command() -> list[Aggregate]:
            ns = self._live_namespace(namespace_id)
            ns.refuse_if_holding(self.repositories_holding_tags({ns.id}), field="namespace")
            ns.delete()
            return [ns, *self._release("namespace", ns.name, ns.id)]

        self._run(command)

    # -- the registry ---------------------------------------------------------------------------

    def update_registry(self, *, name: str | None = None, hostname: str | None = None,
                        external_hostname: str | None = None,
                        use_ssl: bool | None = None) -> None:
        def command() -> list[Aggregate]:
            registry = self._get(Registry, REGISTRY_ID)
            new_name = registry.name if name is None else name.strip()
            new_host = registry.hostname if hostname is None else hostname.strip()
            if not new_name:
                raise InvalidInputError("can't be blank", field="name")
            if not new_host or any(c.isspace() for c in new_host):
                raise InvalidInputError("is invalid", field="hostname")
            if new_host != registry.hostname and (
                    registry.populated or self.repositories_holding_tags(first_only=True)):
                # Portus F17: repository names and tokens' audience are tied to the hostname;
                # changing it under existing images would orphan them.
                raise InvalidInputError("Registry is not empty, cannot change hostname",
                                        field="hostname")
            registry.update(
                name=new_name, hostname=new_host,
                external_hostname=(registry.external_hostname if external_hostname is None
                                   else external_hostname.strip()),
                use_ssl=registry.use_ssl if use_ssl is None else use_ssl)
            return [registry]

        self._run(command)

    # -- helpers --------------------------------------------------------------------------------

    def _live_user(self, user_id: UUID, *, field: str = "user") -> User:
        user = self._get(User, user_id)
        if user.deleted:
            raise NotFoundError("user not found", field=field)
        return user

    def _regular_team(self, team_id: UUID, *, field: str = "team") -> Team:
        try:
            team = self._get(Team, team_id)
        except DomainError:
            raise NotFoundError("team not found", field=field) from None
        if team.deleted or team.kind is not TeamKind.REGULAR:
            raise NotFoundError("team not found", field=field)
        return team

    def _live_namespace(self, namespace_id: UUID) -> Namespace:
        ns = self._get(Namespace, namespace_id)
        if ns.deleted:
            raise NotFoundError("namespace not found", field="namespace")
        return ns
