"""`wharfinger auditor`, `project` and `projections rebuild`, in-process on both backends."""

from __future__ import annotations

import json

import pytest

from tests.web.test_cli import cli_env, run
from web.settings import Settings


def test_auditor_project_and_rebuild(settings: Settings, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    env = cli_env(settings)
    # Given an admin and a registry
    assert run(["bootstrap", "--username", "admin", "--email", "admin@example.org",
                "--password-stdin"], env, "a long password\n", monkeypatch) == 0
    assert run(["registry", "create", "--name", "main", "--hostname", "r.test:5000"], env) == 0
    # When the admin is made an auditor too
    assert run(["auditor", "grant", "admin"], env) == 0
    assert capsys.readouterr().out.endswith("admin is now an auditor.\n")
    # and the feed is caught up by the separate projector command
    assert run(["project", "--once", "--json"], env) == 0
    projected = json.loads(capsys.readouterr().out)
    assert projected["entries"] > 5
    # Then a rebuild replays the same number of entries
    assert run(["projections", "rebuild", "activity", "--json"], env) == 0
    rebuilt = json.loads(capsys.readouterr().out)
    assert rebuilt["entries"] == projected["entries"]
    assert rebuilt["events"] >= rebuilt["entries"]
    # Bad input: one line, non-zero
    assert run(["auditor", "grant", "nobody"], env) == 1
    assert capsys.readouterr().err.strip() == "wharfinger: error: username: user 'nobody' not found"
    assert run(["projections", "rebuild", "--batch-size", "0"], env) == 2
