"""Small helpers shared by HTTP tests: the token endpoint's status for a user and password, a
form's CSRF token, and a clock the test moves by hand."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from tests.web.world import SERVICE, basic

_CSRF = re.compile(r"""name=["']?_csrf["']? value=["']([^"']+)""")


async def token_status(client: TestClient, username: str, password: str) -> int:  # type: ignore[type-arg]
    """The status of `GET /v2/token` with these credentials (docker login's first request)."""
    response = await client.get("/v2/token", params={"service": SERVICE},
                                headers=basic(username, password))
    await response.read()
    return response.status


async def csrf_of(client: TestClient, path: str) -> str:  # type: ignore[type-arg]
    """The console checks a CSRF token on every form post: read it from the form's page."""
    page = await client.get(path)
    found = _CSRF.search(await page.text())
    assert found, f"no CSRF field on {path}"
    return found.group(1)


class Clock:
    """A clock the test owns: it moves only when the test says so (`clock.now += 600`)."""

    def __init__(self, now: float = 1_900_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
