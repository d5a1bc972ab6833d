"""What a command mixin needs from the write application, as a Protocol for its `self`.

Mixins (`class RepositoryCommands`, …) are bases of `Wharfinger`; annotating their methods'
`self` with this protocol gives them typed access to the unit of work without an import cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.names import NameClaim
from domain.users import User

T = TypeVar("T")


class CommandSupport(Protocol):
    @property
    def repository(self) -> Any: ...

    def _find(self, cls: type[T], aggregate_id: UUID) -> T | None: ...

    def _get(self, cls: type[T], aggregate_id: UUID) -> T: ...

    def _update(self, cls: type[T], aggregate_id: UUID, change: Callable[[T], Any]) -> None: ...

    def _find_claim(self, kind: str, name: str) -> NameClaim | None: ...

    def _claimed(self, kind: str, name: str, *, field: str) -> UUID: ...

    def _claim(self, kind: str, name: str, owner_id: UUID) -> NameClaim: ...

    def _join_registry(self, user: User) -> list[Aggregate]: ...

    def _run(self, command: Callable[[], list[Aggregate]], *,
             return_recordings: bool = False) -> list[Any]: ...
