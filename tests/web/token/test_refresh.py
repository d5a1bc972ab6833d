"""Refresh tokens (web.token.refresh): verified once, then remembered; what is remembered never
outlives the token's expiry, never crosses services, and never makes a forged token valid."""

from __future__ import annotations

from uuid import uuid4

import pytest

from web.token import refresh
from web.token.refresh import RefreshTokenError, RefreshTokens


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_remembered_token_still_expires_and_keeps_to_its_service() -> None:
    clock = Clock()
    tokens = RefreshTokens(b"k" * 32, lifetime_seconds=60, clock=clock)
    user = uuid4()
    token = tokens.issue(user, 3, "registry.test")
    assert tokens.check(token, "registry.test").user_id == user
    assert tokens.check(token, "registry.test").credentials_version == 3  # remembered
    with pytest.raises(RefreshTokenError, match="another service"):
        tokens.check(token, "other.test")
    clock.now += 61
    with pytest.raises(RefreshTokenError, match="expired"):
        tokens.check(token, "registry.test")


def test_a_forged_token_is_refused_though_the_real_one_is_remembered() -> None:
    tokens = RefreshTokens(b"k" * 32, lifetime_seconds=60)
    token = tokens.issue(uuid4(), 1, "registry.test")
    tokens.check(token, "registry.test")
    for forged in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), token + "x",
                   RefreshTokens(b"other key" * 4, 60).issue(uuid4(), 1, "registry.test")):
        with pytest.raises(RefreshTokenError):
            tokens.check(forged, "registry.test")


def test_what_is_remembered_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(refresh, "MAX_VERIFIED", 8)
    tokens = RefreshTokens(b"k" * 32, lifetime_seconds=60)
    issued = [tokens.issue(uuid4(), 1, "registry.test") for _ in range(20)]
    for token in issued:
        tokens.check(token, "registry.test")
        assert len(tokens._verified) <= 8
    assert all(tokens.check(t, "registry.test") for t in issued)  # forgotten ones verify again
