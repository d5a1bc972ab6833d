"""The Namespace aggregate: the first path segment of a repository name, owned by one team.

It also knows which of its repositories hold tags (`holding`): the registry keeps images under
the namespace's path, so a namespace holding repositories is neither renamed nor deleted. A push
that gives a repository its first tag records `RepositoryPopulated` here, in the same save, so a
rename or delete racing with it conflicts on this aggregate's version and re-checks.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from domain import events
from domain.errors import DomainError, InvalidInputError
from domain.events import Event
from domain.values import NamespaceKind, Visibility


class NamespaceNotEmptyError(DomainError):
    status = 422


class Namespace(Aggregate):
    class Created(events.Created):
        name: str
        kind: str
        team_id: UUID
        visibility: str
        description: str
        origin: str
        """`api` when a person created it, `registry` when a push into it revealed it."""

        def apply(self, ns: Namespace) -> None:
            ns.name, ns.kind, ns.team_id = self.name, NamespaceKind(self.kind), self.team_id
            ns.visibility, ns.description = Visibility(self.visibility), self.description

    class VisibilityChanged(Event):
        old_visibility: str
        visibility: str

        def apply(self, ns: Namespace) -> None:
            ns.visibility = Visibility(self.visibility)

    class MovedToTeam(Event):
        old_team_id: UUID
        team_id: UUID

        def apply(self, ns: Namespace) -> None:
            ns.team_id = self.team_id

    class DescriptionChanged(Event):
        old_description: str
        description: str

        def apply(self, ns: Namespace) -> None:
            ns.description = self.description

    class Renamed(Event):
        old_name: str
        name: str

        def apply(self, ns: Namespace) -> None:
            ns.name = self.name

    class Deleted(Event):
        """The namespace is gone: its name is free again, its id is never reused."""

        def apply(self, ns: Namespace) -> None:
            ns.deleted = True

    class RepositoryPopulated(Event):
        """A repository in this namespace got its first tag."""

        full_name: str

        def apply(self, ns: Namespace) -> None:
            if self.full_name not in ns.holding:
                ns.holding.append(self.full_name)

    class RepositoryEmptied(Event):
        """A repository in this namespace lost its last tag."""

        full_name: str

        def apply(self, ns: Namespace) -> None:
            if self.full_name in ns.holding:
                ns.holding.remove(self.full_name)

    def __init__(self) -> None:
        self.deleted = False
        self.name = ""
        self.kind = NamespaceKind.TEAM
        self.team_id: UUID | None = None
        self.visibility = Visibility.PRIVATE
        self.description = ""
        self.holding: list[str] = []
        """Full names of its repositories that hold tags (a list: snapshots stay JSON)."""

    def __deepcopy__(self, memo: dict[int, Any]) -> Namespace:
        # Every command gets a copy of the cached namespace (the library's repository.get,
        # eventstore.load_many), and `holding` grows with its repositories: deepcopy walked it
        # name by name (a registry intake batch copies it each time). Its names are strings,
        # immutable, so a copy of the list is the same deep copy, made in C.
        copy = object.__new__(type(self))
        memo[id(self)] = copy
        for key, value in self.__dict__.items():
            copy.__dict__[key] = list(value) if key == "holding" else deepcopy(value, memo)
        return copy

    @classmethod
    def create(cls, *, name: str, kind: NamespaceKind, team_id: UUID, visibility: Visibility,
               description: str = "", origin: str = "api") -> Namespace:
        if kind is NamespaceKind.GLOBAL and visibility is Visibility.PRIVATE:
            raise InvalidInputError("The global namespace cannot be private",
                                    field="visibility")
        return cls._create(cls.Created, id=uuid4(), name=name, kind=kind.value, team_id=team_id,
                           visibility=visibility.value, description=description, origin=origin)

    def change_visibility(self, visibility: Visibility) -> None:
        if visibility is self.visibility:
            return
        if self.kind is NamespaceKind.GLOBAL and visibility is Visibility.PRIVATE:
            raise InvalidInputError("The global namespace cannot be private",
                                    field="visibility")
        self.trigger_event(self.VisibilityChanged, old_visibility=self.visibility.value,
                           visibility=visibility.value)

    def move_to_team(self, team_id: UUID) -> None:
        # Portus's matrix hangs rights on the kind: the global namespace belongs to the admins and a
        # personal namespace to its user. Moving either to a team would hand that team's owners
        # delete on global, or another user's push policy on a personal namespace.
        if self.kind is not NamespaceKind.TEAM:
            raise InvalidInputError(f"The {self.kind.value} namespace cannot be moved to a team",
                                    field="team")
        assert self.team_id is not None
        if team_id != self.team_id:
            self.trigger_event(self.MovedToTeam, old_team_id=self.team_id, team_id=team_id)

    def set_description(self, description: str) -> None:
        if description != self.description:
            self.trigger_event(self.DescriptionChanged, old_description=self.description,
                               description=description)

    def rename(self, name: str) -> None:
        if self.kind is not NamespaceKind.TEAM:
            raise InvalidInputError(f"The {self.kind.value} namespace cannot be renamed",
                                    field="name")
        if name != self.name:
            self.trigger_event(self.Renamed, old_name=self.name, name=name)

    def repository_populated(self, full_name: str) -> None:
        if full_name not in self.holding:
            self.trigger_event(self.RepositoryPopulated, full_name=full_name)

    def repository_emptied(self, full_name: str) -> None:
        if full_name in self.holding:
            self.trigger_event(self.RepositoryEmptied, full_name=full_name)

    def refuse_if_holding(self, also_held: list[str], *, field: str) -> None:
        """Refuse when the namespace holds repositories: the ones it knows, and `also_held`
        (repositories that got their tags before namespaces recorded it)."""
        held = sorted({*self.holding, *also_held})
        if held:
            shown = ", ".join(held[:5]) + (f" and {len(held) - 5} more" if len(held) > 5 else "")
            raise NamespaceNotEmptyError(
                f"Still holds repositories ({shown}): delete them first (DELETE"
                " /api/v1/namespaces/:id/repositories or `wharfinger delete --namespace`)",
                field=field)

    def delete(self, *, owner_gone: bool = False) -> None:
        """Team namespaces only; a personal one goes only with its user (`owner_gone`)."""
        if owner_gone and self.kind is NamespaceKind.PERSONAL:
            pass
        elif self.kind is not NamespaceKind.TEAM:
            what = "personal" if self.kind is NamespaceKind.PERSONAL else "global"
            raise InvalidInputError(f"Cannot remove {what} namespace", field="namespace")
        if not self.deleted:
            self.trigger_event(self.Deleted)
