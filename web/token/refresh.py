"""Refresh tokens for the OAuth2 flow of the token spec (Distribution docs/spec/auth/oauth.md).

A refresh token is bound to one user and one service, carries the user's credentials version and
an expiry, and is authenticated with HMAC-SHA256. It needs no storage: it dies when the user is
disabled or changes password, because either bumps the credentials version the projection holds.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

_VERSION = "whr1"
MAX_LENGTH = 1024


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
        self._key = key
        self._lifetime = lifetime_seconds
        self._clock = clock

    def issue(self, user_id: UUID, credentials_version: int, service: str) -> str:
        payload = {"u": str(user_id), "v": credentials_version, "s": service,
                   "e": int(self._clock()) + self._lifetime, "n": secrets.token_urlsafe(9)}
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        signed = f"{_VERSION}.{body}"
        return f"{signed}.{_b64(self._mac(signed))}"

    def check(self, token: str, service: str) -> RefreshClaims:
        if len(token) > MAX_LENGTH:
            raise RefreshTokenError("refresh token is too long")
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != _VERSION:
            raise RefreshTokenError("malformed refresh token")
        signed = f"{parts[0]}.{parts[1]}"
        try:
            mac = _unb64(parts[2])
        except ValueError:
            raise RefreshTokenError("malformed refresh token") from None
        if not hmac.compare_digest(mac, self._mac(signed)):
            raise RefreshTokenError("refresh token signature is invalid")
        try:
            payload = json.loads(_unb64(parts[1]))
            claims = RefreshClaims(UUID(payload["u"]), int(payload["v"]), str(payload["s"]),
                                   int(payload["e"]))
        except (ValueError, KeyError, TypeError):
            raise RefreshTokenError("malformed refresh token") from None
        if claims.expires_at < self._clock():
            raise RefreshTokenError("refresh token has expired; run docker login again")
        if not hmac.compare_digest(claims.service.encode(), service.encode()):
            raise RefreshTokenError("refresh token was issued for another service")
        return claims

    def _mac(self, signed: str) -> bytes:
        return hmac.new(self._key, signed.encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("bad base64") from None
