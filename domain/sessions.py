"""Console sessions as events: started at sign-in, ended at sign-out (or everywhere at once).

A session is its own small aggregate, so signing in never contends with changes to the user. Only
a hash of the cookie's secret is recorded. Whether a session still works is decided by the read
model (projections.sessions): it also needs the user enabled with the credentials version the
session started under, so disabling a user or changing the password ends every session at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from domain import events
from domain.errors import AccountDisabledError
from domain.events import Event
from domain.users import User

T = TypeVar("T")


class Session(Aggregate):
    class Started(events.Created):
        user_id: UUID
        secret_hash: str
        credentials_version: int

        def apply(self, session: Session) -> None:
            session.user_id, session.secret_hash = self.user_id, self.secret_hash
            session.credentials_version = self.credentials_version

    class Ended(Event):
        reason: str

        def apply(self, session: Session) -> None:
            session.open = False

    def __init__(self) -> None:
        self.user_id: UUID | None = None
        self.secret_hash = ""
        self.credentials_version = 0
        self.open = True

    @classmethod
    def start(cls, *, user_id: UUID, secret_hash: str, credentials_version: int) -> Session:
        return cls._create(cls.Started, id=uuid4(), user_id=user_id, secret_hash=secret_hash,
                           credentials_version=credentials_version)

    def end(self, reason: str) -> None:
        if self.open:
            self.trigger_event(self.Ended, reason=reason)


class SessionCommands:
    """Mixed into `Wharfinger`: the commands of console sessions."""

    if TYPE_CHECKING:  # provided by Wharfinger
        def _get(self, cls: type[T], aggregate_id: UUID) -> T: ...
        def _run(self, command: Callable[[], list[Aggregate]], *,
                 return_recordings: bool = False) -> list[Any]: ...

    def start_session(self, user_id: UUID, secret_hash: str) -> UUID:
        """A new session (a new id at every sign-in); refused for a disabled user."""

        def command() -> list[Aggregate]:
            user = self._get(User, user_id)
            if not user.enabled:
                raise AccountDisabledError("Sorry, this account has been disabled.")
            return [Session.start(user_id=user.id, secret_hash=secret_hash,
                                  credentials_version=user.credentials_version)]

        session = self._run(command)[0]
        assert isinstance(session, Session)
        return session.id

    def end_sessions(self, session_ids: list[UUID], reason: str) -> None:
        """End sessions (sign out, or sign out everywhere); ones already ended are skipped."""

        def command() -> list[Aggregate]:
            ended: list[Aggregate] = []
            for session_id in session_ids:
                session = self._get(Session, session_id)
                session.end(reason)
                ended.append(session)
            return ended

        self._run(command)
