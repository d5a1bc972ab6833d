"""The `wharfinger` command line, run in-process against real stores on both backends."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from web.cli import main
from web.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def cli_env(settings: Settings) -> dict[str, str]:
    env = {"WHARFINGER_DATA_DIR": str(settings.data_dir),
           "WHARFINGER_MACHINE_FQDN_VALUE": "wharfinger.test"}
    if settings.database_url:
        env["WHARFINGER_DATABASE_URL"] = str(settings.database_url)
    return env


def run(argv: list[str], env: dict[str, str], stdin: str = "",
        monkeypatch: pytest.MonkeyPatch | None = None) -> int:
    if monkeypatch is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(argv, env)


def test_bootstrap_registry_and_config(settings: Settings, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    env = cli_env(settings)
    # Step 1: the first admin, password on stdin, JSON out for scripts.
    assert run(["bootstrap", "--username", "admin", "--email", "admin@example.org",
                "--password-stdin", "--json"], env, "a long password\n", monkeypatch) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["username"] == "admin" and created["plain_token"].startswith("wht_")
    # Step 2: only once.
    assert run(["bootstrap", "--username", "other", "--email", "o@example.org",
                "--password-stdin"], env, "a long password\n", monkeypatch) == 1
    assert "no users" in capsys.readouterr().err
    # Step 3: the registry.
    assert run(["registry", "create", "--name", "main", "--hostname", "127.0.0.1:5000"],
               env) == 0
    assert "Registered registry main" in capsys.readouterr().out
    assert run(["registry", "create", "--name", "again", "--hostname", "x"], env) == 1
    assert "only create one registry" in capsys.readouterr().err
    # Step 4: the YAML to paste into the registry's config.
    assert run(["registry-config", "--service", "127.0.0.1:5000",
                "--url", "http://127.0.0.1:5080"], env) == 0
    config = yaml.safe_load(capsys.readouterr().out)
    token = config["auth"]["token"]
    assert token == {"realm": "http://127.0.0.1:5080/v2/token", "service": "127.0.0.1:5000",
                     "issuer": "wharfinger.test", "rootcertbundle": token["rootcertbundle"]}
    assert Path(token["rootcertbundle"]).is_absolute()
    assert "BEGIN CERTIFICATE" in Path(token["rootcertbundle"]).read_text()
    endpoint = config["notifications"]["endpoints"][0]
    assert endpoint["url"] == "http://127.0.0.1:5080/v2/webhooks/events"
    secret = (settings.keys_dir / "notification.secret").read_text().strip()
    assert endpoint["headers"]["Authorization"] == [f"Bearer {secret}"]
    assert (settings.keys_dir / "notification.secret").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(("argv", "stdin", "message"), [
    (["bootstrap", "--username", "admin", "--email", "a@example.org", "--password-stdin"],
     "short\n", "too short"),
    (["bootstrap", "--username", "!!!!", "--email", "a@example.org", "--password-stdin"],
     "a long password\n", "cannot be transformed"),
    (["bootstrap", "--username", "admin", "--email", "not-an-email", "--password-stdin"],
     "a long password\n", "email"),
    (["registry-config", "--service", "x", "--url", "ftp://x"], "", "--url"),
    (["registry-config", "--service", "x", "--rootcertbundle", "keys/x.crt"], "",
     "--rootcertbundle"),
    (["serve", "--listen", "nowhere"], "", "HOST:PORT"),
])
def test_bad_arguments_print_one_line_and_exit_non_zero(
        settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        argv: list[str], stdin: str, message: str) -> None:
    assert run(argv, cli_env(settings), stdin, monkeypatch) != 0
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_bad_configuration_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = {"WHARFINGER_DATA_DIR": str(tmp_path), "WHARFINGER_DELETE_ENABLED": "maybe"}
    assert main(["registry-config", "--service", "x"], env) == 2
    assert "WHARFINGER_DELETE_ENABLED" in capsys.readouterr().err
    env = {"WHARFINGER_DATA_DIR": str(tmp_path), "WHARFINGER_NO_SUCH_KEY": "1"}
    assert main(["registry-config", "--service", "x"], env) == 2
    assert "unknown configuration key" in capsys.readouterr().err


def test_unknown_command_exits_non_zero(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["frobnicate"], {})
    assert exit_info.value.code == 2


UNOPENABLE = [
    (["registry", "create", "--name", "main", "--hostname", "registry.test:5000"], ""),
    (["bootstrap", "--username", "alice", "--email", "a@example.org", "--password-stdin"],
     "a long enough password\n"),
    (["user", "list"], ""),
    (["user", "unlock", "alice"], ""),
    (["auditor", "grant", "alice"], ""),
    (["audit", "verify", "--quiet"], ""),
    (["delete", "--namespace", "shop"], ""),
    (["projections", "rebuild"], ""),
]


@pytest.mark.parametrize(("argv", "stdin"), UNOPENABLE,
                         ids=[" ".join(a[:2]) for a, _ in UNOPENABLE])
def test_a_store_that_cannot_be_opened_exits_1_with_one_line(
        tmp_path: Path, database_url: str | None, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], argv: list[str], stdin: str) -> None:
    """Every command that opens the store fails the same way when it cannot: exit status 1
    (as for a refused command, the README's CLI section) and one line, never a traceback."""
    env = {"WHARFINGER_MACHINE_FQDN_VALUE": "wharfinger.test"}
    if database_url:
        # Nothing listens on port 1: PostgreSQL cannot be reached.
        env["WHARFINGER_DATABASE_URL"] = "postgresql://root@127.0.0.1:1/wharfinger"
        env["WHARFINGER_DATA_DIR"] = str(tmp_path / "data")
        expected = ("cannot open the event store (PostgreSQL root@127.0.0.1:1/wharfinger"
                    " (schema public)): connection failed:")
    else:
        # The data directory is a file: SQLite's database cannot be created in it.
        (tmp_path / "data").write_text("not a directory")
        env["WHARFINGER_DATA_DIR"] = str(tmp_path / "data")
        expected = "cannot open the"
    assert run(argv, env, stdin, monkeypatch) == 1
    err = capsys.readouterr().err
    assert err.startswith("wharfinger: error: ") and expected in err, err
    assert err.count("\n") == 1 and "Traceback" not in err


# What a store's SQLite file cannot be, each the way SQLite (through the event sourcing library)
# refuses it: a directory where the file should be (as a directory the process may not write
# to: "unable to open database file"; a permission cannot be taken from root, which runs the
# tests in the container, so the directory stands in for it), and a file that is no database.
BROKEN_FILES = {
    "a directory": ("unable to open database file", lambda path: path.mkdir()),
    "not a database": ("file is not a database",
                       lambda path: path.write_bytes(b"not SQLite" * 500)),
}


@pytest.mark.parametrize("broken", sorted(BROKEN_FILES))
@pytest.mark.parametrize(("argv", "stdin", "log"), [
    *((argv, stdin, "events") for argv, stdin in UNOPENABLE),
    (["audit", "verify", "--quiet"], "", "audit"),
    (["projections", "rebuild"], "", "audit"),
    (["projections", "rebuild"], "", "activity"),
], ids=[*(" ".join(a[:2]) for a, _ in UNOPENABLE), "audit verify: audit",
        "projections rebuild: audit", "projections rebuild: activity"])
def test_a_sqlite_file_that_cannot_be_opened_exits_1_naming_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        argv: list[str], stdin: str, log: str, broken: str) -> None:
    data = tmp_path / "data"
    data.mkdir()
    reason, breaking = BROKEN_FILES[broken]
    breaking(data / f"{log}.sqlite")
    env = {"WHARFINGER_MACHINE_FQDN_VALUE": "wharfinger.test", "WHARFINGER_DATA_DIR": str(data)}
    assert run(argv, env, stdin, monkeypatch) == 1
    err = capsys.readouterr().err
    what = {"events": "the event store", "audit": "the audit trail",
            "activity": "the activity feed"}[log]
    assert err == f"wharfinger: error: cannot open {what} (SQLite {data / log}.sqlite): {reason}\n"


def test_serve_on_a_store_that_cannot_be_opened_exits_1_with_one_line(
        tmp_path: Path, database_url: str | None) -> None:
    env = {"WHARFINGER_MACHINE_FQDN_VALUE": "wharfinger.test",
           "WHARFINGER_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"}
    if database_url:
        env["WHARFINGER_DATABASE_URL"] = "postgresql://root@127.0.0.1:1/wharfinger"
        expected = "cannot open the event store (PostgreSQL root@127.0.0.1:1/wharfinger"
    else:
        (tmp_path / "data").mkdir()
        (tmp_path / "data" / "events.sqlite").mkdir()
        expected = f"cannot open the event store (SQLite {tmp_path}/data/events.sqlite)"
    code = "import sys; from web.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run([sys.executable, "-c", code, "serve", "--listen", "127.0.0.1:0"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith(f"wharfinger: error: {expected}"), done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "listening" not in done.stdout
