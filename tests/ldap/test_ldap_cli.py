"""The CLI refuses a local user named like a directory user, as the API does (Portus), and says
so when the directory cannot be asked; against a real slapd, on both backends."""

from __future__ import annotations

import asyncio

import pytest

from tests.ldap.conftest import ldap_env
from tests.ldap.slapd import Slapd
from tests.web.test_cli import cli_env, run
from web.settings import Settings


async def test_cli_user_create_checks_the_directory(
        settings: Settings, slapd: Slapd, capsys: pytest.CaptureFixture[str]) -> None:
    env = {**cli_env(settings), **ldap_env(slapd)}

    def create(name: str) -> int:
        return run(["user", "create", "--username", name, "--email", f"{name}@example.org"],
                   env)

    assert await asyncio.to_thread(create, "alice") == 1  # alice is in the directory
    error = capsys.readouterr().err
    assert "ldap: The username 'alice' already exists on the LDAP server" in error
    assert await asyncio.to_thread(create, "zoe") == 0
    assert "Created user zoe" in capsys.readouterr().out

    await asyncio.to_thread(slapd.stop)
    assert await asyncio.to_thread(create, "yann") == 1  # fail closed: cannot check, no user
    error = capsys.readouterr().err
    assert "cannot check the name against the directory" in error
    assert "Traceback" not in error
    env.pop("WHARFINGER_LDAP_ENABLED")
    assert run(["user", "list", "--json"], env) == 0
    assert "yann" not in capsys.readouterr().out
