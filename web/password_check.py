"""Checking a username and password on every channel: lockout, the credential cache, LDAP, argon2.

Portus's order (portus.md §1.2): an application token first, then LDAP when it is on, then the
local password. Accounts with a local password (and bots) are checked locally even when LDAP is
on, so a directory outage never locks them out; accounts that came from the directory, and
unknown names, go to the directory. Wrong passwords on a known account are counted as events, and
the tenth in a row (configurable) locks the account on every channel for ten minutes (Portus F9).
Time comes from `clock`, which tests replace.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, ParamSpec, TypeVar
from uuid import UUID

from domain.actors import ANONYMOUS
from domain.errors import AccountDisabledError, DomainError, NameTakenError
from domain.values import TeamKind
from projections.permissions import UserRecord
from web.app_tokens import PREFIX, match_token
from web.authentication import Authenticated, CredentialKind, InvalidCredentialsError
from web.ldap.directory import DirectoryEntry, DirectoryError, DirectoryRefusedError
from web.passwords import MAX_PASSWORD_LENGTH, verify_and_update

if TYPE_CHECKING:
    from web.services import Services

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")

INVALID = "invalid username or password"


class AccountLockedError(DomainError):
    status = 401

    def __init__(self) -> None:
        super().__init__("Your account is locked: too many failed sign-in attempts. Try again"
                         " later or reset your password.")


class DirectoryUnavailableError(DomainError):
    """Fail closed: the directory cannot say who this is, so nobody from it gets in."""

    status = 503


class PasswordChecker:
    def __init__(self, services: Services, clock: Callable[[], float] = time.time) -> None:
        self.services = services
        self.clock = clock
        settings = services.settings
        self.max_attempts = int(settings["lockout.maximum_attempts"])
        self.lock_seconds = int(settings["lockout.unlock_in_minutes"]) * 60.0
        self._flights: dict[tuple[bytes, str | None], asyncio.Future[tuple[bool, str | None]]] = {}

    def is_locked(self, user_id: UUID) -> bool:
        # Most users have no lockout state: no default state is built to say so (it was 2% of
        # an application-token request).
        state = self.services.accounts.accounts.get(user_id)
        return state is not None and state.is_locked(self.clock())

    async def authenticate(self, username: str, password: str, *, channel: str,
                           tokens: bool = True) -> Authenticated:
        """Who this is, or InvalidCredentialsError / AccountLockedError / AccountDisabledError;
        DirectoryUnavailableError (503) when only the unreachable directory could tell.
        `channel` names where the attempt came from (token, web) in the failure events;
        `tokens=False` refuses application tokens as passwords (the console's sign-in form)."""
        if len(password) > MAX_PASSWORD_LENGTH or len(username) > 255:
            raise InvalidCredentialsError(INVALID)  # refused before any hashing or binding
        services = self.services
        user = services.index.user_named(username)
        if tokens and user is not None and user.tokens and password.startswith(PREFIX):
            stored = ((tid, h) for tid, (_, h) in user.tokens.items())
            if match_token(password, stored) is not None:
                return self._admit(user, CredentialKind.APPLICATION_TOKEN)
        if not password:
            raise InvalidCredentialsError(INVALID)
        if user is not None and self.is_locked(user.id):
            raise AccountLockedError
        if services.ldap is not None and self._from_directory(user):
            return await self._directory_password(username, password, user, channel)
        return await self._local_password(username, password, user, channel)

    def _from_directory(self, user: UserRecord | None) -> bool:
        if user is None:
            return True
        if user.bot:
            return False
        return user.password_hash is None or bool(self.services.accounts.of(user.id).directory_dn)

    def _stamp(self, user: UserRecord) -> Hashable:
        return (user.password_hash, user.credentials_version,
                self.services.accounts.of(user.id).directory_dn)

    def _admit(self, user: UserRecord, kind: CredentialKind) -> Authenticated:
        if self.is_locked(user.id):
            raise AccountLockedError
        if not user.enabled:
            raise AccountDisabledError("Sorry, this account has been disabled.")
        return Authenticated(user, kind)

    async def _local_password(self, username: str, password: str, user: UserRecord | None,
                              channel: str) -> Authenticated:
        services = self.services
        if user is not None and services.credentials.hit(user.id, password, self._stamp(user)):
            return self._admit(user, CredentialKind.PASSWORD)
        stored_hash = user.password_hash if user else None
        ok, new_hash = await self._verify_once(user, stored_hash, password)
        # Re-read: the projection may have moved while the hash was checked in the pool.
        current = services.index.user_named(username)
        if current is None or current.password_hash != stored_hash:
            raise InvalidCredentialsError(INVALID)
        if not ok:
            await self._failed(current, channel)
            raise InvalidCredentialsError(INVALID)
        if new_hash is not None and stored_hash is not None:
            old = stored_hash
            await services.execute(
                lambda: services.store.rehash_password(current.id, old, new_hash),
                actor=current.username)
        return await self._succeeded(current.id, password)

    async def _verify_once(self, user: UserRecord | None, stored_hash: str | None,
                           password: str) -> tuple[bool, str | None]:
        """argon2 for this (user, password, hash), shared by concurrent requests: `docker pull`
        opens many connections at once with the same password, and without this every one of
        them would pay argon2 before the first result reached the cache."""
        services = self.services
        if user is None:
            return await services.pool.run(verify_and_update, stored_hash, password)
        key = (services.credentials.key_of(user.id, password), stored_hash)
        flight = self._flights.get(key)
        if flight is None:
            flight = asyncio.ensure_future(
                services.pool.run(verify_and_update, stored_hash, password))
            self._flights[key] = flight
            flight.add_done_callback(lambda _done: self._flights.pop(key, None))
        return await asyncio.shield(flight)

    async def _directory_password(self, username: str, password: str, user: UserRecord | None,
                                  channel: str) -> Authenticated:
        services = self.services
        if user is not None and services.credentials.hit(user.id, password, self._stamp(user)):
            return self._admit(user, CredentialKind.LDAP)
        directory = services.ldap
        assert directory is not None
        try:
            entry = await self._off_loop(directory.authenticate, username, password)
        except DirectoryRefusedError:
            if user is not None:
                await self._failed(user, channel)
            raise InvalidCredentialsError(INVALID) from None
        if user is None:
            user = await self._first_bind(username, entry)
        elif services.accounts.of(user.id).directory_dn != entry.dn:
            user_id, dn = user.id, entry.dn
            await services.execute(
                lambda: services.store.link_directory_user(user_id, dn), actor=username)
        if directory.config.group_sync:
            await self.sync_groups(user.id, entry)
        return await self._succeeded(user.id, password, CredentialKind.LDAP)

    async def _first_bind(self, username: str, entry: DirectoryEntry) -> UserRecord:
        services = self.services
        try:
            created = await services.execute(lambda: services.store.register_directory_user(
                username=username, email=entry.email, admin=entry.admin, dn=entry.dn),
                actor=username)
            user_id = created.id
        except NameTakenError:  # a concurrent first bind created it
            await services.follower.catch_up()
            existing = services.index.user_named(username)
            if existing is None:
                raise
            user_id = existing.id
        return services.index.users[user_id]

    async def sync_groups(self, user_id: UUID, entry: DirectoryEntry) -> None:
        """Login-time group sync: record the user's groups and follow them in the teams named
        like them, writing only when the directory shows something new."""
        services = self.services
        directory = services.ldap
        assert directory is not None
        groups = await self._off_loop(directory.groups_of, entry)
        config = directory.config
        seen = services.accounts.of(user_id).directory_groups
        candidates = []
        for team in services.index.teams.values():
            if team.kind is not TeamKind.REGULAR or team.id in services.accounts.teams_not_syncing:
                continue
            role = team.members.get(user_id)
            joins = team.name in groups and role is None
            leaves = (team.name not in groups and role is not None and config.remove_members
                      and role.value != "owner")
            if joins or leaves:
                candidates.append(team.id)
        if candidates or groups != seen:
            await services.execute(lambda: services.store.sync_user_directory_groups(
                user_id, groups, candidates, role=config.default_role,
                remove=config.remove_members), actor="ldap")

    async def _succeeded(self, user_id: UUID, password: str,
                         kind: CredentialKind = CredentialKind.PASSWORD) -> Authenticated:
        services = self.services
        state = services.accounts.of(user_id)
        if state.failed_attempts or state.locked_until is not None:
            now = self.clock()
            await services.execute(
                lambda: services.store.record_password_success(user_id, now=now))
        user = services.index.users[user_id]
        admitted = self._admit(user, kind)
        services.credentials.remember(user.id, password, self._stamp(user))
        return admitted

    async def _failed(self, user: UserRecord, channel: str) -> None:
        services = self.services
        now = self.clock()
        locked = await services.execute(lambda: services.store.record_password_failure(
            user.id, channel=channel, now=now, max_attempts=self.max_attempts,
            lock_seconds=self.lock_seconds), actor=ANONYMOUS)
        if locked:
            log.warning("account %s locked after %d failed passwords", user.username,
                        self.max_attempts)

    async def _off_loop(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        directory = self.services.ldap
        assert directory is not None
        # ldap3 has its own connect and receive timeouts; this bounds the whole exchange.
        limit = directory.config.timeout * 4 + 1
        try:
            async with asyncio.timeout(limit):
                return await self.services.pool.run(fn, *args, **kwargs)
        except DirectoryError as e:
            raise DirectoryUnavailableError(f"LDAP: {e}", field="ldap") from None
        except TimeoutError:
            raise DirectoryUnavailableError(
                f"LDAP: the directory did not answer within {limit:.0f} s", field="ldap") from None
