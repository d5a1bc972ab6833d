"""Password hashing with argon2id (RFC 9106), and the length rules checked before any hashing.

Parameters: argon2id, time cost 3, memory 64 MiB, parallelism 4, 32-byte hash, 16-byte salt:
RFC 9106's second recommended option (argon2-cffi's defaults, its RFC_9106_LOW_MEMORY profile).
A stored hash records its own parameters; when they differ from these, a successful sign-in
stores a new hash of the same password (`verify_and_update`). Hashing and verifying are slow on
purpose: callers run them in the blocking pool, never on the event loop.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from domain.errors import InvalidInputError

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128
"""Portus's rules (F6). Longer input is refused before hashing: argon2 on a megabyte is a DoS."""

TIME_COST = 3
MEMORY_COST_KIB = 64 * 1024
PARALLELISM = 4
_hasher = PasswordHasher(time_cost=TIME_COST, memory_cost=MEMORY_COST_KIB,
                         parallelism=PARALLELISM, hash_len=32, salt_len=16)
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


def verify_and_update(password_hash: str | None, password: str) -> tuple[bool, str | None]:
    """Verify; on success with a hash made under other parameters, also a new hash to store."""
    if not verify_password(password_hash, password):
        return False, None
    assert password_hash is not None
    try:
        stale = _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True, None
    return True, (_hasher.hash(password) if stale else None)
