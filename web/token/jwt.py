"""Signing the registry's bearer tokens: compact JWS with `kid` and `x5c` (RFC 7515, 7519)."""

from __future__ import annotations

from collections.abc import Mapping

import jwt

from web.token.keys import SigningKey


def sign_jwt(key: SigningKey, claims: Mapping[str, object]) -> str:
    # pyjwt emits ES256 signatures as raw r||s, as the registry requires (§0.3).
    return jwt.encode(dict(claims), key.private_key, algorithm=key.algorithm,
                      headers={"kid": key.kid, "x5c": list(key.x5c)})
