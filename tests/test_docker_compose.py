"""docker-compose.yml cannot be started here (no Docker engine), so it is checked by reading it:
the services, volumes and health checks production needs, and, by running the compose file's own
`registry-config` script against a scratch directory, that the registry's config.yml is exactly
its base settings plus what `wharfinger registry-config` prints."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}`."""
    def one(m: re.Match[str]) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3)
        if env.get(name):
            return env[name]
        if op == ":-":
            return arg
        if op == ":?":
            raise KeyError(f"{name}: {arg}")
        return ""
    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", one, text)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    text = interpolate((ROOT / "docker-compose.yml").read_text(), {"POSTGRES_PASSWORD": "pw"})
    loaded = yaml.safe_load(text)
    assert isinstance(loaded, dict)
    return loaded


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> source (named volume or host path), read-only flag dropped."""
    result = {}
    for spec in service.get("volumes", []):
        source, target = spec.split(":")[:2]
        result[target] = source
    return result


def test_compose_runs_postgres_wharfinger_and_a_registry_with_health_checks(
        compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"postgres", "wharfinger", "registry", "registry-config"} <= set(services)
    for name in ("postgres", "wharfinger", "registry"):
        assert services[name]["healthcheck"]["test"], name
        assert services[name]["restart"] == "unless-stopped"
    # Data and keys live in named volumes, so they survive the containers.
    wharfinger = services["wharfinger"]
    env = wharfinger["environment"]
    assert mounts(wharfinger)[env["WHARFINGER_DATA_DIR"]] in compose["volumes"]
    assert mounts(services["postgres"])["/var/lib/postgresql/data"] in compose["volumes"]
    assert mounts(services["registry"])["/var/lib/registry"] in compose["volumes"]
    assert env["WHARFINGER_DATABASE_URL"].startswith("postgresql://wharfinger:pw@postgres:5432/")
    # Nodes start only once the database is healthy and the keys exist.
    assert wharfinger["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "registry-config": {"condition": "service_completed_successfully"}}
    # The registry never sees Wharfinger's data volume (the private key, the secrets).
    assert mounts(wharfinger)["/data"] not in mounts(services["registry"]).values()
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "HEALTHCHECK" in dockerfile and "USER wharfinger" in dockerfile


def test_the_registry_config_it_mounts_is_what_wharfinger_registry_config_prints(
        compose: dict[str, Any], tmp_path: Path) -> None:
    services = compose["services"]
    init, registry, wharfinger = (services[n] for n in ("registry-config", "registry",
                                                         "wharfinger"))
    # Step 1: where things are, as the containers see them.
    config_volume = mounts(registry)["/etc/docker/registry"]
    init_mounts = {source: target for target, source in mounts(init).items()}
    out_dir = init_mounts[config_volume]
    base_file = next(t for t, s in mounts(init).items() if s == "./deploy/registry/base.yml")
    data_dir = init_mounts[mounts(wharfinger)["/data"]]
    assert init["environment"] == wharfinger["environment"]
    # Step 2: run the compose file's own script, with its container paths mapped to scratch
    # directories, the real `wharfinger` CLI, and `chown` (root-only) stubbed out.
    scratch = {out_dir: tmp_path / "registry-config", data_dir: tmp_path / "data",
               base_file: ROOT / "deploy" / "registry" / "base.yml"}
    scratch[out_dir].mkdir()
    script = init["command"][-1]
    assert init["command"][:2] == ["sh", "-ec"]
    for container_path, local in sorted(scratch.items(), key=lambda kv: -len(kv[0])):
        script = re.sub(re.escape(container_path) + r"(?=[/\s]|$)", str(local), script)
    stubs = tmp_path / "bin"
    stubs.mkdir()
    (stubs / "chown").write_text("#!/bin/sh\nexit 0\n")
    (stubs / "chown").chmod(0o755)
    env = {**wharfinger["environment"], "WHARFINGER_DATA_DIR": str(scratch[data_dir]),
           "PATH": f"{stubs}:{VENV_BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    subprocess.run(["sh", "-ec", script], env=env, check=True, timeout=60)
    mounted = yaml.safe_load((scratch[out_dir] / "config.yml").read_text())
    # Step 3: the same CLI run by hand, with the arguments the script gives it.
    invocation = re.search(r"wharfinger registry-config (.*?)(?:>>|$)", init["command"][-1],
                           re.S)
    assert invocation is not None
    args = shlex.split(invocation.group(1))
    printed = subprocess.run([str(VENV_BIN / "wharfinger"), "registry-config", *args],
                             env=env, capture_output=True, text=True, check=True).stdout
    expected = {**yaml.safe_load((ROOT / "deploy" / "registry" / "base.yml").read_text()),
                **yaml.safe_load(printed)}
    assert mounted == expected
    # Step 4: what it says points at the right things in this compose file.
    token = mounted["auth"]["token"]
    bundle = Path(token["rootcertbundle"])
    assert bundle.parent == Path("/etc/docker/registry")  # inside the mounted config volume
    assert (scratch[out_dir] / bundle.name).read_bytes() == (
        scratch[data_dir] / "keys" / "token-signing.crt").read_bytes()
    port = wharfinger["environment"]["WHARFINGER_LISTEN"].rpartition(":")[2]
    assert token["realm"] == f"http://wharfinger:{port}/v2/token"
    assert token["issuer"] == wharfinger["environment"]["WHARFINGER_MACHINE_FQDN_VALUE"]
    assert token["service"] == "registry.example.com:5000"
    assert mounted["http"]["addr"].endswith(":5000")
    (endpoint,) = mounted["notifications"]["endpoints"]
    assert endpoint["url"] == f"http://wharfinger:{port}/v2/webhooks/events"
    secret = (scratch[data_dir] / "keys" / "notification.secret").read_text().strip()
    assert endpoint["headers"]["Authorization"] == [f"Bearer {secret}"]
