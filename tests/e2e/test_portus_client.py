"""A Portus API v1 client script (tests/e2e/portus_client.sh: curl and jq, calling the API as
portusctl and Portus's Grape params define it) runs unchanged against a live `wharfinger serve`,
on SQLite and PostgreSQL (issue 4, "Done when"). The script stops at the first unexpected
status; this test then reads its transcript and checks each answer's shape as Portus's entities
define them (portus.md §1.12), and every answer against the OpenAPI document."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from multidict import CIMultiDict

from bench.nodes import Node
from tests.web.api.openapi_check import check_response

SCRIPT = Path(__file__).with_name("portus_client.sh")
USER = {"id", "username", "email", "current_sign_in_at", "last_sign_in_at", "created_at",
        "updated_at", "admin", "enabled", "locked_at", "namespace_id", "display_name", "bot"}
TEAM = {"id", "name", "created_at", "updated_at", "description", "hidden"}
NAMESPACE = {"id", "name", "created_at", "updated_at", "description", "team", "visibility",
             "global"}
MEMBER = {"id", "team_id", "user_id", "created_at", "updated_at", "role", "display_name",
          "admin", "current"}
REGISTRY = {"id", "name", "hostname", "external_hostname", "use_ssl", "created_at",
            "updated_at"}
TOKEN = {"id", "application"}

pytestmark = pytest.mark.e2e


@pytest.fixture
def node(tmp_path: Path, database_url: str | None) -> Iterator[Node]:
    env = {"PATH": "/usr/bin:/bin", "WHARFINGER_DATA_DIR": str(tmp_path / "data"),
           "WHARFINGER_MACHINE_FQDN_VALUE": "wharfinger.test"}
    if database_url:
        env["WHARFINGER_DATABASE_URL"] = database_url
    node = Node("portus-client", env, tmp_path / "node.log")
    node.start()
    try:
        yield node
    finally:
        node.stop()


def keys(body: Any, expected: set[str], step: str) -> None:
    assert isinstance(body, dict) and expected <= set(body), f"{step}: {body}"


def test_a_portus_client_script_runs_unchanged(node: Node, tmp_path: Path) -> None:
    for tool in ("bash", "curl", "jq"):
        assert shutil.which(tool, path="/usr/bin:/bin"), (
            f"{tool} is missing: run scripts/setup-test-env.sh as root")
    out = tmp_path / "client"
    with socket.socket() as closed:  # bound, never listening: the registry is not up
        closed.bind(("127.0.0.1", 0))
        registry = f"127.0.0.1:{closed.getsockname()[1]}"
        run = subprocess.run(
            ["bash", str(SCRIPT)], capture_output=True, text=True, timeout=300, check=False,
            env={"PATH": "/usr/bin:/bin", "PORTUS_URL": node.url, "OUT": str(out),
                 "REGISTRY_HOSTNAME": registry})
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}\n{node.log()[-3000:]}"
    calls = [json.loads(line) for line in (out / "transcript.jsonl").read_text().splitlines()]
    steps = {c["step"]: c for c in calls}
    assert len(steps) == len(calls) and "user_gone" in steps

    # Every answer is one the OpenAPI document describes.
    for number, call in enumerate(calls, start=1):
        text = (out / f"{number}.body").read_text()
        check_response(call["method"], call["path"].split("?")[0], call["status"], text,
                       CIMultiDict(call["headers"]))

    def body(step: str) -> Any:
        return steps[step]["body"]

    assert body("ping") == {} and body("health")["database"]["success"] is True
    keys(body("bootstrap"), {"id", "application", "plain_token"}, "bootstrap")
    assert body("bootstrap")["application"] == "bootstrap"
    assert isinstance(body("wrong_token")["message"], str)
    assert body("version")["api-versions"] == ["v1"]
    # The registry is not listening: Portus's message, under hostname.
    assert body("registry_validate") == {"valid": False, "messages": {
        "hostname": ["Errno::ECONNREFUSED: connection refused"]}}
    keys(body("registry_create"), REGISTRY, "registry_create")
    assert [r["hostname"] for r in body("registries")] == [registry]
    assert body("registry_update")["external_hostname"] == "registry.example.org"
    # Users: the entity, bots, look-up by email, pagination headers and ordering.
    for step in ("user_create", "bot_create", "user_show", "user_by_email", "user_update"):
        keys(body(step), USER, step)
    assert body("bot_create")["bot"] is True and body("bot_create")["namespace_id"] is None
    assert body("user_by_email")["username"] == "alice"
    assert body("user_update")["display_name"] == "Alice A."
    page = steps["users_page"]["headers"]
    assert (page["x-total"], page["x-per-page"], page["x-page"], page["x-total-pages"],
            page["x-next-page"]) == ("4", "2", "1", "2", "2")
    assert 'rel="next"' in page["link"] and len(body("users_page")) == 2
    assert [u["username"] for u in body("users_all")] == ["ci-bot", "bob", "alice", "admin"]
    # Application tokens: shown once on creation, listed without the secret.
    keys(body("bot_token_create"), TOKEN | {"plain_token"}, "bot_token_create")
    assert {t["application"] for t in body("bot_tokens")} >= {"deploy"}
    assert all(set(t) == TOKEN for t in body("bot_tokens"))
    # Teams and members.
    for step in ("team_create", "team_show", "team_update"):
        keys(body(step), TEAM, step)
    assert body("team_update")["description"] == "Quality assurance"
    keys(body("member_add"), MEMBER, "member_add")
    assert body("member_add")["role"] == "viewer" and body("member_role")["role"] == "contributor"
    assert {m["role"] for m in body("members")} >= {"owner", "contributor"}
    # Namespaces: created private, validated, paged, changed field by field, moved, deleted.
    for step in ("namespace_create", "namespace_show", "namespace_visibility",
                 "namespace_rename", "namespace_transfer"):
        keys(body(step), NAMESPACE, step)
    assert body("namespace_create")["visibility"] == "private"
    assert body("namespace_create")["team"]["name"] == "qa"
    assert body("namespace_validate") == {"valid": False,
                                          "messages": {"name": ["has already been taken"]}}
    assert steps["namespaces"]["headers"]["x-per-page"] == "2"
    assert body("namespace_repositories") == []
    assert body("namespace_visibility")["visibility"] == "protected"
    assert body("namespace_rename")["name"] == "qa-tools"
    assert body("namespace_transfer")["team"]["name"] == "ops"
    # Deleting team qa moved its namespace to ops; the deleted user is gone.
    assert {n["name"] for n in body("ops_namespaces")} == {"qa-tools", "qa-keep"}
    assert isinstance(body("user_gone")["message"], str)
