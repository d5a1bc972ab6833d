"""Console tests reuse the HTTP fixtures (a real app per test, a small world of users)."""

from __future__ import annotations

from tests.web.conftest import client, world

__all__ = ["client", "world"]
