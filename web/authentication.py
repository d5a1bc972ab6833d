"""Who is asking: application token, password, or refresh token, checked against the projection.

Passwords and application tokens are checked by `web.password_check.PasswordChecker` (lockout,
cache, LDAP, argon2); refresh tokens here. A disabled user is refused only after the secret
matched, so the answer never tells a guesser whether an account exists or is disabled.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.errors import DomainError
from projections.permissions import PermissionIndex, UserRecord
from web.token.refresh import RefreshTokenError, RefreshTokens


class CredentialKind(StrEnum):
    # Kinds of credential, not credentials: S105 is a false positive here.
    PASSWORD = "password"  # noqa: S105
    APPLICATION_TOKEN = "application_token"  # noqa: S105
    REFRESH_TOKEN = "refresh_token"  # noqa: S105
    LDAP = "ldap"


class InvalidCredentialsError(DomainError):
    status = 401


@dataclass(frozen=True)
class Authenticated:
    user: UserRecord
    kind: CredentialKind


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
