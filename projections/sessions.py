"""The open console sessions: a fold of `Session` events, asked at every console request.

A session works while it is open, younger than the lifetime, and its user is enabled with the
credentials version the session started under (so disabling a user, or a password change, ends
every session of that user without an event per session).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from domain.sessions import Session
from eventstore.reader import LoggedEvent
from projections.permissions import PermissionIndex, UserRecord


def hash_session_secret(secret: str) -> str:
    return "sha256:" + hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class SessionRecord:
    id: UUID
    user_id: UUID
    secret_hash: str
    credentials_version: int
    started_at: datetime


@dataclass
class SessionIndex:
    position: int = 0
    sessions: dict[UUID, SessionRecord] = field(default_factory=dict)

    def user_of(self, index: PermissionIndex, session_id: UUID, secret: str, *,
                lifetime: timedelta, now: datetime | None = None) -> UserRecord | None:
        """The enabled user of a working session, or None (secret compared in constant time)."""
        session = self.sessions.get(session_id)
        if session is None:
            return None
        if not hmac.compare_digest(session.secret_hash, hash_session_secret(secret)):
            return None
        if (now or datetime.now(UTC)) - session.started_at > lifetime:
            return None
        user = index.users.get(session.user_id)
        if user is None or not user.enabled:
            return None
        if user.credentials_version != session.credentials_version:
            return None
        return user

    def open_sessions_of(self, user_id: UUID) -> list[UUID]:
        return [s.id for s in self.sessions.values() if s.user_id == user_id]

    def apply(self, logged: LoggedEvent) -> None:
        handler = _HANDLERS.get(type(logged.event))
        if handler is not None:
            handler(self, logged.event)
        self.position = logged.position

    def _started(self, e: Session.Started) -> None:
        self.sessions[e.originator_id] = SessionRecord(
            e.originator_id, e.user_id, e.secret_hash, e.credentials_version, e.timestamp)

    def _ended(self, e: Session.Ended) -> None:
        self.sessions.pop(e.originator_id, None)


_HANDLERS: dict[type[Any], Callable[[SessionIndex, Any], None]] = {
    Session.Started: SessionIndex._started,
    Session.Ended: SessionIndex._ended,
}
