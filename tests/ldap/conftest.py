"""A real throwaway slapd per test, and a Wharfinger app configured to authenticate against it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import AppStarter
from tests.ldap.slapd import ADMINS, GROUPS, PEOPLE, SERVICE_DN, SERVICE_PASSWORD, SUFFIX, Slapd

LdapApp = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]


@pytest.fixture(scope="session")
def tls_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ldap-tls")


@pytest.fixture
async def slapd(tmp_path: Path, tls_dir: Path) -> AsyncIterator[Slapd]:
    server = await asyncio.to_thread(Slapd.start, tmp_path / "slapd", tls_dir)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)


def ldap_env(server: Slapd, **overrides: str) -> dict[str, str]:
    env = {
        "WHARFINGER_LDAP_ENABLED": "true",
        "WHARFINGER_LDAP_HOSTNAME": "127.0.0.1",
        "WHARFINGER_LDAP_PORT": str(server.port),
        "WHARFINGER_LDAP_TIMEOUT": "2",
        "WHARFINGER_LDAP_BASE": PEOPLE,
        "WHARFINGER_LDAP_ADMIN_BASE": ADMINS,
        "WHARFINGER_LDAP_GROUP_BASE": GROUPS,
        "WHARFINGER_LDAP_AUTHENTICATION_ENABLED": "true",
        "WHARFINGER_LDAP_AUTHENTICATION_BIND_DN": SERVICE_DN,
        "WHARFINGER_LDAP_AUTHENTICATION_PASSWORD": SERVICE_PASSWORD,
    }
    env.update(overrides)
    return env


@pytest.fixture
async def ldap_app(slapd: Slapd, start_app: AppStarter) -> LdapApp:
    """Start an app with LDAP pointed at `slapd`; keyword arguments override env keys."""

    async def start(**overrides: str) -> TestClient:  # type: ignore[type-arg]
        return await start_app(**ldap_env(slapd, **overrides))

    return start


__all__ = ["SUFFIX", "LdapApp"]
