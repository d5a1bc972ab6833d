"""Password recovery links: signed, expiring, single-use, with nothing stored (Portus F10).

A link carries the user's id, the credentials version it was issued for and its expiry, under an
HMAC-SHA256 with a key kept in the keys directory. Resetting the password moves the credentials
version, so a link works once; any other password change, or a newer reset, also ends it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from uuid import UUID

from web.signed_payloads import BadSignatureError, MalformedError, SignedPayloads

_VERSION = "wpr1"
MAX_LENGTH = 512


class RecoveryLinkError(Exception):
    """The link is not one we issued, was tampered with, or has expired."""


@dataclass(frozen=True)
class RecoveryClaims:
    user_id: UUID
    credentials_version: int
    expires_at: float


class RecoveryLinks:
    def __init__(self, key: bytes, lifetime_seconds: float) -> None:
        self._payloads = SignedPayloads(
            hashlib.sha256(b"wharfinger password recovery\0" + key).digest(), _VERSION)
        self.lifetime = lifetime_seconds

    def issue(self, user_id: UUID, credentials_version: int, now: float) -> str:
        return self._payloads.seal(
            {"u": str(user_id), "v": credentials_version, "e": int(now + self.lifetime)})

    def check(self, token: str, now: float) -> RecoveryClaims:
        if not token or len(token) > MAX_LENGTH:
            raise RecoveryLinkError("This password reset link is not valid.")
        try:
            payload = self._payloads.open(token)
        except BadSignatureError:
            raise RecoveryLinkError("This password reset link is not valid: it was altered.") \
                from None
        except MalformedError:
            raise RecoveryLinkError("This password reset link is not valid.") from None
        try:
            claims = RecoveryClaims(UUID(payload["u"]), int(payload["v"]), float(payload["e"]))
        except (ValueError, KeyError, TypeError):
            raise RecoveryLinkError("This password reset link is not valid.") from None
        if claims.expires_at <= now:
            raise RecoveryLinkError("This password reset link has expired; ask for a new one.")
        return claims
