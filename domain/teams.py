"""The Team aggregate: members with roles; a team always keeps at least one owner."""

from __future__ import annotations

from dataclasses import field
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from domain import events
from domain.errors import ConflictError, LastOwnerError, NotFoundError
from domain.events import Event
from domain.values import Role, TeamKind


class Team(Aggregate):
    class Created(events.Created):
        name: str
        kind: str
        description: str

        def apply(self, team: Team) -> None:
            team.name, team.kind, team.description = (
                self.name, TeamKind(self.kind), self.description)

    class MemberAdded(Event):
        user_id: UUID
        role: str

        def apply(self, team: Team) -> None:
            team.members[str(self.user_id)] = Role(self.role)

    class MemberRoleChanged(Event):
        user_id: UUID
        old_role: str
        new_role: str
        cause: str = field(default="", kw_only=True)
        """Why, when the change follows from another one: `admin_granted` (admins are owners
        of every team they are in, F21). Events stored before this field read as ""."""

        def apply(self, team: Team) -> None:
            team.members[str(self.user_id)] = Role(self.new_role)

    class MemberRemoved(Event):
        user_id: UUID
        role: str

        def apply(self, team: Team) -> None:
            team.members.pop(str(self.user_id), None)

    class Renamed(Event):
        old_name: str
        name: str

        def apply(self, team: Team) -> None:
            team.name = self.name

    class DescriptionChanged(Event):
        old_description: str
        description: str

        def apply(self, team: Team) -> None:
            team.description = self.description

    class Deleted(Event):
        """The team is gone (its namespaces were moved or deleted first); its id is not reused."""

        def apply(self, team: Team) -> None:
            team.deleted = True

    class DirectorySyncStopped(Event):
        """The team opted out of LDAP group sync (Portus `POST /teams/:id/ldap_check`)."""

        def apply(self, team: Team) -> None:
            team.directory_sync = False

    def __init__(self) -> None:
        self.deleted = False
        self.name = ""
        self.kind = TeamKind.REGULAR
        self.description = ""
        # str(user id) -> role; str keys keep snapshots JSON-serialisable.
        self.members: dict[str, Role] = {}
        self.directory_sync = True

    @classmethod
    def create(cls, *, name: str, kind: TeamKind, description: str = "",
               team_id: UUID | None = None) -> Team:
        return cls._create(cls.Created, id=team_id or uuid4(), name=name, kind=kind.value,
                           description=description)

    @property
    def hidden(self) -> bool:
        return self.kind is not TeamKind.REGULAR

    def role_of(self, user_id: UUID) -> Role | None:
        return self.members.get(str(user_id))

    def add_member(self, user_id: UUID, role: Role) -> None:
        if str(user_id) in self.members:
            raise ConflictError("User has already been taken", field="user")
        self.trigger_event(self.MemberAdded, user_id=user_id, role=role.value)

    def change_role(self, user_id: UUID, role: Role, *, cause: str = "") -> None:
        old = self._existing_role(user_id)
        if old is role:
            return
        if old is Role.OWNER:
            self._keep_an_owner(user_id)
        self.trigger_event(self.MemberRoleChanged, user_id=user_id, old_role=old.value,
                           new_role=role.value, cause=cause)

    def remove_member(self, user_id: UUID) -> None:
        old = self._existing_role(user_id)
        if old is Role.OWNER:
            self._keep_an_owner(user_id)
        self.trigger_event(self.MemberRemoved, user_id=user_id, role=old.value)

    def rename(self, name: str) -> None:
        if name != self.name:
            self.trigger_event(self.Renamed, old_name=self.name, name=name)

    def set_description(self, description: str) -> None:
        if description != self.description:
            self.trigger_event(self.DescriptionChanged, old_description=self.description,
                               description=description)

    def delete(self) -> None:
        if not self.deleted:
            self.trigger_event(self.Deleted)

    def _existing_role(self, user_id: UUID) -> Role:
        role = self.members.get(str(user_id))
        if role is None:
            raise NotFoundError("Not found: the user is not a member of this team",
                                field="member")
        return role

    def _keep_an_owner(self, leaving_owner: UUID) -> None:
        others = [u for u, r in self.members.items()
                  if r is Role.OWNER and u != str(leaving_owner)]
        if not others:
            raise LastOwnerError("Cannot remove the only owner of the team", field="role")

    def stop_directory_sync(self) -> None:
        if self.directory_sync:
            self.trigger_event(self.DirectorySyncStopped)
