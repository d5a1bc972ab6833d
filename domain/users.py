"""The User aggregate: an account that signs in, owns application tokens and may be an admin."""

from __future__ import annotations

from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from domain.errors import ConflictError, InvalidInputError, NotFoundError
from domain.events import Created, Event

MAX_APPLICATION_TOKENS = 5
"""Portus F14: at most five application tokens per user."""


class User(Aggregate):
    class Registered(Created):
        username: str
        email: str
        password_hash: str | None
        admin: bool
        bot: bool

        def apply(self, user: User) -> None:
            user.username, user.email = self.username, self.email
            user.password_hash = self.password_hash
            user.admin, user.bot = self.admin, self.bot

    class PasswordChanged(Event):
        password_hash: str

        def apply(self, user: User) -> None:
            user.password_hash = self.password_hash
            user.credentials_version += 1

    class DisplayNameSet(Event):
        display_name: str | None

        def apply(self, user: User) -> None:
            user.display_name = self.display_name

    class AdminGranted(Event):
        def apply(self, user: User) -> None:
            user.admin = True

    class AdminRevoked(Event):
        def apply(self, user: User) -> None:
            user.admin = False

    class Disabled(Event):
        def apply(self, user: User) -> None:
            user.enabled = False
            user.credentials_version += 1

    class Enabled(Event):
        def apply(self, user: User) -> None:
            user.enabled = True

    class AuditorGranted(Event):
        """The user may read every activity and decision record, and change nothing."""

        def apply(self, user: User) -> None:
            user.auditor = True

    class AuditorRevoked(Event):
        def apply(self, user: User) -> None:
            user.auditor = False

    class ApplicationTokenCreated(Event):
        token_id: UUID
        application: str
        token_hash: str

        def apply(self, user: User) -> None:
            user.application_tokens[str(self.token_id)] = self.application

    class ApplicationTokenRevoked(Event):
        token_id: UUID

        def apply(self, user: User) -> None:
            user.application_tokens.pop(str(self.token_id), None)

    class EmailChanged(Event):
        email: str

        def apply(self, user: User) -> None:
            user.email = self.email

    class Deleted(Event):
        """The account is gone: its name and email are free again, its id is never reused."""

        def apply(self, user: User) -> None:
            user.deleted = True
            user.enabled = False
            user.application_tokens.clear()
            user.credentials_version += 1

    # -- authentication breadth (issue 7): lockout, the directory, rehashing -----------------

    class PasswordRejected(Event):
        """A wrong password was offered for this account on `channel` (token, api, web)."""

        channel: str
        attempt: int

        def apply(self, user: User) -> None:
            user.failed_attempts = self.attempt

    class Locked(Event):
        """Too many consecutive wrong passwords: no sign-in until `until` (epoch seconds)."""

        until: float

        def apply(self, user: User) -> None:
            user.locked_until = self.until
            user.failed_attempts = 0

    class Unlocked(Event):
        reason: str

        def apply(self, user: User) -> None:
            user.locked_until = None
            user.failed_attempts = 0

    class FailedAttemptsReset(Event):
        """A right password ended a run of wrong ones (the count is consecutive failures)."""

        def apply(self, user: User) -> None:
            user.failed_attempts = 0

    class PasswordRehashed(Event):
        """The same password, hashed again with the current parameters: not a new credential,
        so sessions and refresh tokens live on (the credentials version does not move)."""

        password_hash: str

        def apply(self, user: User) -> None:
            user.password_hash = self.password_hash

    class DirectoryLinked(Event):
        """The account is authenticated by the LDAP directory entry `dn`."""

        dn: str

        def apply(self, user: User) -> None:
            user.directory_dn = self.dn

    class SeenInDirectoryGroup(Event):
        """The directory listed this user as a member of `group` (observed at this time)."""

        group: str

        def apply(self, user: User) -> None:
            user.directory_groups = sorted({*user.directory_groups, self.group})

    class LeftDirectoryGroup(Event):
        """The directory no longer lists this user as a member of `group`."""

        group: str

        def apply(self, user: User) -> None:
            user.directory_groups = [g for g in user.directory_groups if g != self.group]

    def __init__(self) -> None:
        self.deleted = False
        self.username = ""
        self.email = ""
        self.password_hash: str | None = None
        self.display_name: str | None = None
        self.admin = False
        self.auditor = False
        self.bot = False
        self.enabled = True
        self.credentials_version = 0
        # token id -> application name; hashes live only in the events and the projection.
        self.application_tokens: dict[str, str] = {}
        self.failed_attempts = 0
        self.locked_until: float | None = None
        self.directory_dn = ""
        self.directory_groups: list[str] = []

    @classmethod
    def register(
        cls, *, username: str, email: str, password_hash: str | None, admin: bool, bot: bool
    ) -> User:
        return cls._create(cls.Registered, id=uuid4(), username=username, email=email,
                           password_hash=password_hash, admin=admin, bot=bot)

    def change_password(self, password_hash: str) -> None:
        self.trigger_event(self.PasswordChanged, password_hash=password_hash)

    def set_display_name(self, display_name: str | None) -> None:
        if display_name != self.display_name:
            self.trigger_event(self.DisplayNameSet, display_name=display_name)

    def change_email(self, email: str) -> None:
        if email != self.email:
            self.trigger_event(self.EmailChanged, email=email)

    def delete(self) -> None:
        if not self.deleted:
            self.trigger_event(self.Deleted)

    def grant_admin(self) -> None:
        if not self.admin:
            self.trigger_event(self.AdminGranted)

    def revoke_admin(self) -> None:
        if self.admin:
            self.trigger_event(self.AdminRevoked)

    def grant_auditor(self) -> None:
        if not self.auditor:
            self.trigger_event(self.AuditorGranted)

    def revoke_auditor(self) -> None:
        if self.auditor:
            self.trigger_event(self.AuditorRevoked)

    def disable(self) -> None:
        if self.enabled:
            self.trigger_event(self.Disabled)

    def enable(self) -> None:
        if not self.enabled:
            self.trigger_event(self.Enabled)

    def create_application_token(self, application: str, token_hash: str) -> UUID:
        application = application.strip()
        if not application:
            raise InvalidInputError("can't be blank", field="application")
        if len(application) > 255:
            raise InvalidInputError("is too long (maximum is 255 characters)",
                                    field="application")
        if application in self.application_tokens.values():
            raise ConflictError("has already been taken", field="application")
        if len(self.application_tokens) >= MAX_APPLICATION_TOKENS:
            raise InvalidInputError(
                f"Users cannot have more than {MAX_APPLICATION_TOKENS} application tokens",
                field="application",
            )
        token_id = uuid4()
        self.trigger_event(self.ApplicationTokenCreated, token_id=token_id,
                           application=application, token_hash=token_hash)
        return token_id

    def revoke_application_token(self, token_id: UUID) -> None:
        if str(token_id) not in self.application_tokens:
            raise NotFoundError("Not found", field="token")
        self.trigger_event(self.ApplicationTokenRevoked, token_id=token_id)

    # -- lockout (portus.md F9) and the directory -------------------------------------------

    def is_locked(self, now: float) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def reject_password(self, *, channel: str, now: float, max_attempts: int,
                        lock_seconds: float) -> bool:
        """Count a wrong password; lock on the `max_attempts`-th in a row. True when locked."""
        if self.is_locked(now):
            return True
        attempt = self.failed_attempts + 1
        self.trigger_event(self.PasswordRejected, channel=channel, attempt=attempt)
        if attempt >= max_attempts:
            self.trigger_event(self.Locked, until=now + lock_seconds)
            return True
        return False

    def accept_password(self, now: float) -> None:
        if self.locked_until is not None and not self.is_locked(now):
            self.trigger_event(self.Unlocked, reason="expired")
        if self.failed_attempts:
            self.trigger_event(self.FailedAttemptsReset)

    def unlock(self, reason: str) -> None:
        if self.locked_until is not None or self.failed_attempts:
            self.trigger_event(self.Unlocked, reason=reason)

    def rehash_password(self, old_hash: str, new_hash: str) -> None:
        if self.password_hash == old_hash and new_hash != old_hash:
            self.trigger_event(self.PasswordRehashed, password_hash=new_hash)

    def link_directory(self, dn: str) -> None:
        if dn != self.directory_dn:
            self.trigger_event(self.DirectoryLinked, dn=dn)

    def observe_directory_group(self, group: str, member: bool) -> None:
        if member and group not in self.directory_groups:
            self.trigger_event(self.SeenInDirectoryGroup, group=group)
        elif not member and group in self.directory_groups:
            self.trigger_event(self.LeftDirectoryGroup, group=group)
