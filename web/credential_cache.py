"""The verified-credential cache: repeated Basic auth without paying argon2 (or LDAP) each time.

`docker pull` sends the password on every token request. A password that verified a moment ago is
remembered for a short TTL under an HMAC of (user id, password) with a key made at random per
process, so the cache never holds the password or anything an offline guesser could test against
the stored hash. An entry also records the credential it was checked against (hash and
credentials version), and the cache is a fold of the log: a password change, disable, lock,
rehash or directory change forgets the user's entries on every node that follows the log.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Hashable
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.users import User
from eventstore.reader import LoggedEvent

MAX_ENTRIES = 10_000
_FORGETTING_EVENTS: tuple[type[Aggregate.Event], ...] = (
    User.PasswordChanged, User.PasswordRehashed, User.Disabled, User.Locked, User.PasswordRejected,
    User.DirectoryLinked, User.SeenInDirectoryGroup, User.LeftDirectoryGroup, User.AdminGranted,
    User.AdminRevoked)


class VerifiedCredentials:
    def __init__(self, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._key = secrets.token_bytes(32)
        self._ttl = ttl_seconds
        self._clock = clock
        # digest -> (user id, expiry, stamp of the credential it was verified against)
        self._entries: dict[bytes, tuple[UUID, float, Hashable]] = {}
        self._by_user: dict[UUID, set[bytes]] = {}

    def _digest(self, user_id: UUID, password: str) -> bytes:
        message = user_id.bytes + password.encode("utf-8", "surrogatepass")
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def key_of(self, user_id: UUID, password: str) -> bytes:
        """The keyed hash of (user, password), for callers that need to tell attempts apart
        without keeping the password (the single-flight of argon2 checks)."""
        return self._digest(user_id, password)

    def hit(self, user_id: UUID, password: str, stamp: Hashable) -> bool:
        if self._ttl <= 0:
            return False
        digest = self._digest(user_id, password)
        entry = self._entries.get(digest)
        if entry is None:
            return False
        owner, expires, remembered = entry
        if owner != user_id or remembered != stamp or self._clock() >= expires:
            self._drop(digest)
            return False
        return True

    def remember(self, user_id: UUID, password: str, stamp: Hashable) -> None:
        if self._ttl <= 0:
            return
        now = self._clock()
        if len(self._entries) >= MAX_ENTRIES:
            for digest in [d for d, e in self._entries.items() if e[1] <= now]:
                self._drop(digest)
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
                self._by_user.clear()
        digest = self._digest(user_id, password)
        self._entries[digest] = (user_id, now + self._ttl, stamp)
        self._by_user.setdefault(user_id, set()).add(digest)

    def forget(self, user_id: UUID) -> None:
        for digest in self._by_user.pop(user_id, ()):
            self._entries.pop(digest, None)

    def _drop(self, digest: bytes) -> None:
        entry = self._entries.pop(digest, None)
        if entry is not None:
            digests = self._by_user.get(entry[0])
            if digests is not None:
                digests.discard(digest)
                if not digests:
                    del self._by_user[entry[0]]

    def __len__(self) -> int:
        return len(self._entries)

    def apply(self, logged: LoggedEvent) -> None:
        if isinstance(logged.event, _FORGETTING_EVENTS):
            self.forget(logged.event.originator_id)
