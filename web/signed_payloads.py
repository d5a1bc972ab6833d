"""Stateless signed tokens: `VERSION.base64url(JSON).base64url(HMAC-SHA256)`.

Refresh tokens and password recovery links both carry a small JSON payload that nothing stores:
the HMAC proves we issued it. This is the one encoding of that format; callers own the claims,
the length limits and the messages their users see.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any


class MalformedError(ValueError):
    """Not shaped like one of our tokens (wrong version, parts or base64, or not JSON)."""


class BadSignatureError(Exception):
    """Well-formed, but the HMAC does not match: altered, or signed with another key."""


class SignedPayloads:
    def __init__(self, key: bytes, version: str) -> None:
        self._key = key
        self._version = version

    def seal(self, payload: dict[str, Any]) -> str:
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        signed = f"{self._version}.{body}"
        return f"{signed}.{_b64(self._mac(signed))}"

    def open(self, token: str) -> Any:
        """The payload of a token we sealed; MalformedError or BadSignatureError otherwise."""
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != self._version:
            raise MalformedError("wrong version or number of parts")
        signed = f"{parts[0]}.{parts[1]}"
        mac = _unb64(parts[2])
        if not hmac.compare_digest(mac, self._mac(signed)):
            raise BadSignatureError("signature does not match")
        try:
            return json.loads(_unb64(parts[1]))
        except ValueError:
            raise MalformedError("payload is not JSON") from None

    def _mac(self, signed: str) -> bytes:
        return hmac.new(self._key, signed.encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise MalformedError("bad base64") from None
