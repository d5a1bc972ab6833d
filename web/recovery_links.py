"""Password recovery links: signed, expiring, single-use, with nothing stored (Portus F10).

A link carries the user's id, the credentials version it was issued for and its expiry, under an
HMAC-SHA256 with a key kept in the keys directory. Resetting the password moves the credentials
version, so a link works once; any other password change, or a newer reset, also ends it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from uuid import UUID

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
        self._key = hashlib.sha256(b"wharfinger password recovery\0" + key).digest()
        self.lifetime = lifetime_seconds

    def issue(self, user_id: UUID, credentials_version: int, now: float) -> str:
        payload = {"u": str(user_id), "v": credentials_version, "e": int(now + self.lifetime)}
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        signed = f"{_VERSION}.{body}"
        return f"{signed}.{_b64(self._mac(signed))}"

    def check(self, token: str, now: float) -> RecoveryClaims:
        if not token or len(token) > MAX_LENGTH:
            raise RecoveryLinkError("This password reset link is not valid.")
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != _VERSION:
            raise RecoveryLinkError("This password reset link is not valid.")
        signed = f"{parts[0]}.{parts[1]}"
        try:
            mac = _unb64(parts[2])
        except ValueError:
            raise RecoveryLinkError("This password reset link is not valid.") from None
        if not hmac.compare_digest(mac, self._mac(signed)):
            raise RecoveryLinkError("This password reset link is not valid: it was altered.")
        try:
            payload = json.loads(_unb64(parts[1]))
            claims = RecoveryClaims(UUID(payload["u"]), int(payload["v"]), float(payload["e"]))
        except (ValueError, KeyError, TypeError):
            raise RecoveryLinkError("This password reset link is not valid.") from None
        if claims.expires_at <= now:
            raise RecoveryLinkError("This password reset link has expired; ask for a new one.")
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
