"""Who is asking: application token, password, or refresh token, checked against the projection.

Order as Portus (portus.md §2.2): an application token first (cheap, no thread), then the password
(argon2 in the blocking pool). A disabled user is refused only after the secret matched, so the
answer never tells a guesser whether an account exists or is disabled.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.errors import AccountDisabledError, DomainError
from projections.permissions import PermissionIndex, UserRecord
from web.app_tokens import match_token
from web.blocking import BlockingPool
from web.passwords import verify_password
from web.token.refresh import RefreshTokenError, RefreshTokens


class CredentialKind(StrEnum):
    # Kinds of credential, not credentials: S105 is a false positive here.
    PASSWORD = "password"  # noqa: S105
    APPLICATION_TOKEN = "application_token"  # noqa: S105
    REFRESH_TOKEN = "refresh_token"  # noqa: S105


class InvalidCredentialsError(DomainError):
    status = 401


@dataclass(frozen=True)
class Authenticated:
    user: UserRecord
    kind: CredentialKind


async def authenticate_password(index: PermissionIndex, pool: BlockingPool, username: str,
                                password: str) -> Authenticated:
    user = index.user_named(username)
    if user is not None and user.tokens:
        token_id = match_token(password, ((tid, h) for tid, (_, h) in user.tokens.items()))
        if token_id is not None:
            return _enabled(Authenticated(user, CredentialKind.APPLICATION_TOKEN))
    stored_hash = user.password_hash if user else None
    ok = await pool.run(verify_password, stored_hash, password)
    # Re-read: the projection may have moved while the hash was checked in the pool.
    current = index.user_named(username)
    if not ok or current is None or current.password_hash != stored_hash:
        raise InvalidCredentialsError("invalid username or password")
    return _enabled(Authenticated(current, CredentialKind.PASSWORD))


def authenticate_refresh_token(index: PermissionIndex, tokens: RefreshTokens, token: str,
                               service: str) -> Authenticated:
    try:
        claims = tokens.check(token, service)
    except RefreshTokenError as e:
        raise InvalidCredentialsError(str(e), field="refresh_token") from None
    user = index.users.get(claims.user_id)
    if user is None or not user.enabled or user.credentials_version != claims.credentials_version:
        raise InvalidCredentialsError(
            "refresh token is no longer valid; run docker login again", field="refresh_token")
    return Authenticated(user, CredentialKind.REFRESH_TOKEN)


def _enabled(auth: Authenticated) -> Authenticated:
    if not auth.user.enabled:
        raise AccountDisabledError("Sorry, this account has been disabled.")
    return auth
