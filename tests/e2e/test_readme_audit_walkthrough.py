"""Issue 5's "done when": an auditor who has only the README answers "who could push to web/app
on a past date and why", exports a bundle and verifies it offline.

Every `wharfinger audit …` command of the README's "Audit: proving the log" section is run as
printed there, as a separate process, in the order the README gives them, against a real
`wharfinger serve` history on both backends. Only the README's example values (dates, the jti)
are replaced by this history's; if the README's commands change, this test reads the new ones,
and if an example value disappears it fails and says which, so the two cannot drift apart.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.nodes import VENV_BIN, Node

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "README.md"
SERVICE = "registry.test:5000"
PASSWORD = "a long password"


def readme_audit_commands() -> list[str]:
    """The `wharfinger audit` commands of the README's audit section, continuation lines joined
    and trailing comments dropped."""
    text = README.read_text()
    section = text[text.index("## Audit: proving the log"):]
    section = section[:section.index("\n## ", 1)]
    commands = []
    for block in re.findall(r"```(?:sh|console)\n(.*?)```", section, re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = line.removeprefix("$ ").strip()
            if line.startswith("wharfinger audit"):
                commands.append(re.sub(r"\s+#.*$", "", line))
    return commands


def now() -> str:
    time.sleep(1.1)  # the README's dates are to the second; keep the moments apart
    moment = datetime.now(UTC).isoformat(timespec="seconds")
    time.sleep(1.1)
    return moment


class Shell:
    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env, self.cwd = env, cwd

    def __call__(self, command: str, stdin: str = "") -> str:
        done = subprocess.run(["bash", "-c", command], env=self.env, cwd=self.cwd,
                              input=stdin, capture_output=True, text=True, timeout=120,
                              check=False)
        assert done.returncode == 0, f"{command}\nexit {done.returncode}\n{done.stdout}\n" \
                                     f"{done.stderr}"
        assert "Traceback" not in done.stderr
        return done.stdout


def test_the_readme_audit_section_works_as_printed(tmp_path: Path,
                                                   database_url: str | None) -> None:
    env = {"PATH": f"{VENV_BIN}:/usr/bin:/bin", "WHARFINGER_DATA_DIR": str(tmp_path / "data"),
           "WHARFINGER_MACHINE_FQDN_VALUE": "wharfinger.test"}
    if database_url:
        env["WHARFINGER_DATABASE_URL"] = database_url
    work = tmp_path / "auditor"
    work.mkdir()
    sh = Shell(env, work)

    # The history: the README's cast (admin; bob owns team web; alice contributes to it).
    admin_token = json.loads(sh("wharfinger bootstrap --username admin --email admin@example.org"
                                " --password-stdin --json", PASSWORD + "\n"))["plain_token"]
    sh("wharfinger audit checkpoint --log events --out q4-end.txt")  # kept from long ago
    start = now()
    sh("wharfinger registry create --name main --hostname registry.test:5000")
    for name in ("alice", "bob"):
        sh(f"wharfinger user create --username {name} --email {name}@example.org")
    sh("wharfinger team create --name web --owner bob")
    sh("wharfinger team add-member web alice --role contributor")
    sh("wharfinger namespace create --name web --team web")
    while_contributor = now()

    # Through a running server: a token for web/app, then alice is demoted to viewer.
    node = Node("audit", env, tmp_path / "serve.log")
    node.start()
    try:
        basic = base64.b64encode(f"admin:{admin_token}".encode()).decode()
        token = node.request("GET", f"/v2/token?service={SERVICE}"
                             "&scope=repository:web/app:pull,push",
                             headers={"Authorization": f"Basic {basic}"})
        assert token.status == 200, token
        payload = str(token.body["token"]).split(".")[1]
        jti = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"]
        api = {"Portus-Auth": f"admin:{admin_token}"}
        teams = node.request("GET", "/api/v1/teams", headers=api).body
        web = next(t for t in teams if t["name"] == "web")  # type: ignore[union-attr]
        members = node.request("GET", f"/api/v1/teams/{web['id']}/members", headers=api).body
        alice = next(m for m in members  # type: ignore[union-attr]
                     if m["display_name"] == "alice")
        demoted = node.request("PUT", f"/api/v1/teams/{web['id']}/members/{alice['user_id']}",
                               headers=api, json_body={"role": "viewer"})
        assert demoted.status == 200, demoted
    finally:
        node.stop()  # SQLite: the auditor's commands open the store themselves
    after = now()

    # The README's example values, and what stands for each in this history.
    values = {"2026-03-03T12:00:00Z": while_contributor, "2026-03-01": while_contributor,
              "2026-04-01": after, "2026-01-01": start, "<jti>": jti}
    commands = readme_audit_commands()
    printed = " ".join(commands)
    missing = [v for v in values if v not in printed]
    assert not missing, f"the README no longer shows {missing}: update this test's values"
    outputs = []
    for command in commands:
        for example, actual in values.items():
            command = command.replace(example, shlex.quote(actual))
        outputs.append((command, sh(command)))

    def output(prefix: str) -> str:
        return "\n".join(out for command, out in outputs if command.startswith(prefix))

    # Who could push to web/app then, and why.
    access = output("wharfinger audit access --repository web/app")
    assert "push: admin (admin), alice (team contributor), bob (team owner)" in access
    assert "- push alice: revoked (was: team contributor)" in access
    assert "Team.MemberRoleChanged" in access and "by admin" in access
    permissions = output("wharfinger audit permissions alice")
    assert "web: pull: team contributor  push: team contributor" in permissions
    assert "web/app" in output("wharfinger audit explain-token")
    # The bundle verifies offline against the key kept at the start, and the log only grew.
    bundle = output("wharfinger audit verify-bundle")
    assert "VALID:" in bundle and "INVALID" not in bundle
    assert "the log only grew" in bundle
    assert (work / "wharfinger-verifier.key").read_text().strip()
