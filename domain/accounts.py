"""Commands on account security: wrong-password lockout (Portus F9), unlock, rehash, reset.

Time comes in from the caller (`now`, epoch seconds) so the lockout is decided by a clock the web
layer owns and a test can control; the domain never reads the wall clock for decisions.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.command_support import CommandSupport
from domain.errors import InvalidInputError
from domain.users import User


class AccountCommands:
    def record_password_failure(self: CommandSupport, user_id: UUID, *, channel: str, now: float,
                                max_attempts: int, lock_seconds: float) -> bool:
        """Count one wrong password; True when the account is (now) locked."""
        locked: list[bool] = []

        def command() -> list[Aggregate]:
            user = self._get(User, user_id)
            locked[:] = [user.reject_password(channel=channel, now=now,
                                              max_attempts=max_attempts,
                                              lock_seconds=lock_seconds)]
            return [user]

        self._run(command)
        return locked[0]

    def record_password_success(self: CommandSupport, user_id: UUID, *, now: float) -> None:
        self._update(User, user_id, lambda u: u.accept_password(now))

    def unlock_user(self: CommandSupport, user_id: UUID, *, reason: str = "admin") -> None:
        self._update(User, user_id, lambda u: u.unlock(reason))

    def rehash_password(self: CommandSupport, user_id: UUID, old_hash: str, new_hash: str) -> None:
        self._update(User, user_id, lambda u: u.rehash_password(old_hash, new_hash))

    def reset_password(self: CommandSupport, user_id: UUID, *, password_hash: str,
                       credentials_version: int) -> None:
        """Password recovery: a new password, which unlocks the account and (by moving the
        credentials version) ends its refresh tokens and sessions. `credentials_version` is the
        one the recovery link was issued for, so a link works once."""

        def command() -> list[Aggregate]:
            user = self._get(User, user_id)
            if user.credentials_version != credentials_version:
                raise InvalidInputError("This password reset link has already been used",
                                        field="reset_password_token")
            user.change_password(password_hash)
            user.unlock("password reset")
            return [user]

        self._run(command)
