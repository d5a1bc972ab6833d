"""Password hashing with argon2id (RFC 9106), and the length rules checked before any hashing.

argon2-cffi's defaults are RFC 9106's second recommended option (t=3, m=64 MiB, p=4). Hashing and
verifying are slow on purpose: callers run them in the blocking pool, never on the event loop.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from domain.errors import InvalidInputError

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128
"""Portus's rules (F6). Longer input is refused before hashing: argon2 on a megabyte is a DoS."""

_hasher = PasswordHasher()
# Verified against when the user does not exist, so an unknown name costs the same time as a
# wrong password and response times do not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("wharfinger-timing-equaliser")


def check_new_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInputError(
            f"is too short (minimum is {MIN_PASSWORD_LENGTH} characters)", field="password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInputError(
            f"is too long (maximum is {MAX_PASSWORD_LENGTH} characters)", field="password")
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(check_new_password(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not there is a hash; False for any failure."""
    if not password or len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
