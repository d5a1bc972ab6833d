"""Account security read model: lockout state, directory links and team sync opt-outs.

A fold beside the permission index (one follower feeds both): the password check reads whether an
account is locked and whether it belongs to the LDAP directory without touching the store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from domain.teams import Team
from domain.users import User
from eventstore.reader import LoggedEvent


@dataclass
class AccountState:
    failed_attempts: int = 0
    locked_until: float | None = None
    directory_dn: str = ""
    directory_groups: set[str] = field(default_factory=set)

    def is_locked(self, now: float) -> bool:
        return self.locked_until is not None and now < self.locked_until


@dataclass
class AccountIndex:
    position: int = 0
    accounts: dict[UUID, AccountState] = field(default_factory=dict)
    teams_not_syncing: set[UUID] = field(default_factory=set)

    def of(self, user_id: UUID) -> AccountState:
        """The user's state; a fresh default for users with no security events yet."""
        return self.accounts.get(user_id) or AccountState()

    def apply(self, logged: LoggedEvent) -> None:
        handler = _HANDLERS.get(type(logged.event))
        if handler is not None:
            handler(self, logged.event)
        self.position = logged.position

    def _state(self, user_id: UUID) -> AccountState:
        return self.accounts.setdefault(user_id, AccountState())

    def _rejected(self, e: User.PasswordRejected) -> None:
        self._state(e.originator_id).failed_attempts = e.attempt

    def _locked(self, e: User.Locked) -> None:
        state = self._state(e.originator_id)
        state.locked_until, state.failed_attempts = e.until, 0

    def _unlocked(self, e: User.Unlocked) -> None:
        state = self._state(e.originator_id)
        state.locked_until, state.failed_attempts = None, 0

    def _reset(self, e: User.FailedAttemptsReset) -> None:
        self._state(e.originator_id).failed_attempts = 0

    def _linked(self, e: User.DirectoryLinked) -> None:
        self._state(e.originator_id).directory_dn = e.dn

    def _seen(self, e: User.SeenInDirectoryGroup) -> None:
        self._state(e.originator_id).directory_groups.add(e.group)

    def _left(self, e: User.LeftDirectoryGroup) -> None:
        self._state(e.originator_id).directory_groups.discard(e.group)

    def _sync_stopped(self, e: Team.DirectorySyncStopped) -> None:
        self.teams_not_syncing.add(e.originator_id)


_HANDLERS: dict[type[Any], Callable[[AccountIndex, Any], None]] = {
    User.PasswordRejected: AccountIndex._rejected,
    User.Locked: AccountIndex._locked,
    User.Unlocked: AccountIndex._unlocked,
    User.FailedAttemptsReset: AccountIndex._reset,
    User.DirectoryLinked: AccountIndex._linked,
    User.SeenInDirectoryGroup: AccountIndex._seen,
    User.LeftDirectoryGroup: AccountIndex._left,
    Team.DirectorySyncStopped: AccountIndex._sync_stopped,
}
