"""Refresh tokens for the OAuth2 flow of the token spec (Distribution docs/spec/auth/oauth.md).

A refresh token is bound to one user and one service, carries the user's credentials version and
an expiry, and is authenticated with HMAC-SHA256. It needs no storage: it dies when the user is
disabled or changes password, because either bumps the credentials version the projection holds.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from web.signed_payloads import BadSignatureError, MalformedError, SignedPayloads

_VERSION = "whr1"
MAX_LENGTH = 1024
MAX_VERIFIED = 4096
"""Refresh tokens whose signature and contents were checked, kept so a client that refreshes
over and over (every pull of a CI runner) is not verified again: 14 µs of a refresh-token
request. Expiry, service and the user's credentials version are still checked every time."""


class RefreshTokenError(Exception):
    """The refresh token is not one we issued for this service, or is no longer valid."""


@dataclass(frozen=True)
class RefreshClaims:
    user_id: UUID
    credentials_version: int
    service: str
    expires_at: int


class RefreshTokens:
    def __init__(self, key: bytes, lifetime_seconds: int,
                 clock: Callable[[], float] = time.time) -> None:
        self._payloads = SignedPayloads(key, _VERSION)
        self._lifetime = lifetime_seconds
        self._clock = clock
        self._verified: dict[str, RefreshClaims] = {}

    def issue(self, user_id: UUID, credentials_version: int, service: str) -> str:
        return self._payloads.seal(
            {"u": str(user_id), "v": credentials_version, "s": service,
             "e": int(self._clock()) + self._lifetime, "n": secrets.token_urlsafe(9)})

    def check(self, token: str, service: str) -> RefreshClaims:
        if len(token) > MAX_LENGTH:
            raise RefreshTokenError("refresh token is too long")
        claims = self._verified.get(token)
        if claims is None:
            claims = self._verify(token)
            if len(self._verified) >= MAX_VERIFIED:
                self._verified.clear()  # many distinct tokens: start over, cheaper than LRU
            self._verified[token] = claims
        if claims.expires_at < self._clock():
            raise RefreshTokenError("refresh token has expired; run docker login again")
        if not hmac.compare_digest(claims.service.encode(), service.encode()):
            raise RefreshTokenError("refresh token was issued for another service")
        return claims

    def _verify(self, token: str) -> RefreshClaims:
        """The claims of a token we sealed; RefreshTokenError for anything else."""
        try:
            payload = self._payloads.open(token)
        except BadSignatureError:
            raise RefreshTokenError("refresh token signature is invalid") from None
        except MalformedError:
            raise RefreshTokenError("malformed refresh token") from None
        try:
            claims = RefreshClaims(UUID(payload["u"]), int(payload["v"]), str(payload["s"]),
                                   int(payload["e"]))
        except (ValueError, KeyError, TypeError):
            raise RefreshTokenError("malformed refresh token") from None
        return claims
