"""The admin commands of the CLI (`user`, `team`, `namespace`), on both backends."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.web.test_cli import cli_env, run
from web.settings import Settings


def out_json(capsys: pytest.CaptureFixture[str]) -> Any:
    return json.loads(capsys.readouterr().out)


def test_admin_tasks_end_to_end(settings: Settings, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    env = cli_env(settings)
    # Step 1: the registry first, so users get personal namespaces.
    assert run(["registry", "create", "--name", "main", "--hostname", "reg.test"], env) == 0
    capsys.readouterr()
    # Step 2: users, one with a password from stdin, one made admin afterwards.
    assert run(["user", "create", "--username", "alice", "--email", "a@example.org",
                "--password-stdin", "--json"], env, "a long password\n", monkeypatch) == 0
    alice = out_json(capsys)
    assert alice["username"] == "alice" and alice["id"] == 1 and not alice["admin"]
    assert isinstance(alice["namespace_id"], int)
    assert run(["user", "create", "--username", "bob", "--email", "b@example.org"], env) == 0
    assert "Created user bob" in capsys.readouterr().out
    assert run(["user", "make-admin", "bob", "--json"], env) == 0
    assert out_json(capsys)["admin"] is True
    # Step 3: a bot, whose token is printed once.
    assert run(["user", "create-bot", "--username", "ci", "--json"], env) == 0
    bot = out_json(capsys)
    assert bot["bot"] and bot["namespace_id"] is None and bot["plain_token"].startswith("wht_")
    # Step 4: a team, a member (an admin joins as owner), a namespace made public.
    assert run(["team", "create", "--name", "web", "--owner", "alice", "--json"], env) == 0
    assert out_json(capsys)["members"] == {"alice": "owner"}
    assert run(["team", "add-member", "web", "bob", "--role", "viewer", "--json"], env) == 0
    assert out_json(capsys)["members"] == {"alice": "owner", "bob": "owner"}
    assert run(["namespace", "create", "--name", "shop", "--team", "web", "--json"], env) == 0
    assert out_json(capsys)["visibility"] == "private"
    assert run(["namespace", "set-visibility", "shop", "public", "--json"], env) == 0
    assert out_json(capsys)["visibility"] == "public"
    # Step 5: listings for scripts.
    assert run(["user", "list", "--json"], env) == 0
    assert [u["username"] for u in out_json(capsys)] == ["alice", "bob", "ci"]
    assert run(["team", "list", "--json"], env) == 0
    assert [t["name"] for t in out_json(capsys)] == ["web"]
    assert run(["namespace", "list", "--json"], env) == 0
    assert {n["name"] for n in out_json(capsys)} >= {"shop", "alice", "bob"}
    assert run(["namespace", "list"], env) == 0
    assert "shop" in capsys.readouterr().out
    # Step 6: disabling; the last enabled admin stays.
    assert run(["user", "disable", "alice"], env) == 0
    assert run(["user", "disable", "bob"], env) == 1
    assert "last enabled admin" in capsys.readouterr().err
    # Nor by taking the flag away: an operator at the shell cannot lock the console out either.
    assert run(["user", "revoke-admin", "bob"], env) == 1
    assert "last enabled admin" in capsys.readouterr().err
    assert run(["user", "list", "--json"], env) == 0
    assert [u["admin"] for u in out_json(capsys) if u["username"] == "bob"] == [True]


@pytest.mark.parametrize(("argv", "message"), [
    (["user", "make-admin", "nobody"], "not found"),
    (["team", "create", "--name", "Bad Name", "--owner", "alice"], "lower case"),
    (["team", "add-member", "nowhere", "alice"], "unknown team"),
    (["namespace", "create", "--name", "x", "--team", "nowhere"], "unknown team"),
    (["namespace", "set-visibility", "nothing", "public"], "not found"),
    (["user", "create", "--username", "alice", "--email", "x@example.org"], "taken"),
])
def test_refusals_are_one_line(settings: Settings, capsys: pytest.CaptureFixture[str],
                               argv: list[str], message: str) -> None:
    env = cli_env(settings)
    assert run(["user", "create", "--username", "alice", "--email", "a@example.org"], env) == 0
    capsys.readouterr()
    assert run(argv, env) != 0
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
