"""The auditor role: a user who may read every activity and decision record and change nothing.

Granting and revoking are events on the User aggregate (`User.AuditorGranted`/`AuditorRevoked`);
the commands live in this mixin so the write application gains them with one line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from domain.users import User

T = TypeVar("T")


class AuditorCommands:
    if TYPE_CHECKING:
        def _update(self, cls: type[T], aggregate_id: UUID,
                    change: Callable[[T], Any]) -> None: ...

    def grant_auditor(self, user_id: UUID) -> None:
        self._update(User, user_id, User.grant_auditor)

    def revoke_auditor(self, user_id: UUID) -> None:
        self._update(User, user_id, User.revoke_auditor)
