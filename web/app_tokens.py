"""Application tokens: random secrets shown once, stored only as a hash.

They are 256-bit random, so a fast SHA-256 hash is as safe as a slow one (nobody can guess the
input) and lets the token endpoint check one without the thread pool. Comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from uuid import UUID

PREFIX = "wht_"
"""Makes leaked tokens recognisable to secret scanners."""


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def match_token(candidate: str, stored: Iterable[tuple[UUID, str]]) -> UUID | None:
    """The id of the stored token `candidate` is, checking every one in constant time."""
    if not candidate.startswith(PREFIX) or len(candidate) > 128:
        return None
    digest = hash_token(candidate)
    found: UUID | None = None
    for token_id, token_hash in stored:
        if hmac.compare_digest(digest, token_hash):
            found = token_id
    return found
