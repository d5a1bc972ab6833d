"""Wharfinger nodes as real processes: `wharfinger serve` on free ports, sharing one store.

Used by the two-node test (tests/e2e/test_two_nodes.py) and benchmark (bench/two_nodes.py). Nodes
share the data directory's keys (the registry trusts one certificate, and a refresh token from one
node must be accepted by the other), which is how N nodes behind a load balancer are run.
"""

from __future__ import annotations

import base64
import json
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import VENV_BIN, free_port, wait_ready


@dataclass
class Response:
    status: int
    body: dict[str, Any]


@dataclass
class Node:
    name: str
    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait: bool = True) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [str(VENV_BIN / "wharfinger"), "serve", "--listen", f"127.0.0.1:{self.port}"],
            env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        process = self.process
        assert process is not None
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"node {self.name} exited with {process.returncode}:\n"
                                   f"{self.log()}")
            try:
                wait_ready(f"{self.url}/api/v1/_ping", 0.5)
                return
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"node {self.name} did not start:\n{self.log()}") from None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None,
                json_body: object = None, timeout: float = 10) -> Response:
        data = None
        all_headers = dict(headers or {})
        if json_body is not None:
            data = json.dumps(json_body).encode()
            all_headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.url + path, data=data,  # noqa: S310 - loopback
                                     headers=all_headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:  # noqa: S310 - loopback
                return Response(r.status, json.loads(r.read() or b"{}"))
        except urllib.error.HTTPError as e:
            body = e.read()
            try:
                return Response(e.code, json.loads(body or b"{}"))
            except ValueError:
                return Response(e.code, {"raw": body.decode(errors="replace")})

    def granted(self, service: str, scope: str, basic: tuple[str, str] | None = None
                ) -> tuple[int, list[str]]:
        """The token endpoint's status and the actions it granted on `scope`."""
        headers = {}
        if basic:
            raw = f"{basic[0]}:{basic[1]}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
        r = self.request("GET", f"/v2/token?service={service}&scope={scope}", headers=headers)
        if r.status != 200:
            return r.status, []
        return 200, actions_in(r.body["token"])


def actions_in(token: str) -> list[str]:
    """The actions of the token's first access entry (its payload, signature unchecked)."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    access = claims.get("access") or []
    return list(access[0]["actions"]) if access else []


def wait_until(predicate: Any, timeout: float, interval: float = 0.005) -> float:
    """Seconds until the start of the first `predicate()` call that was true (what it observed
    held by then; the call's own latency, which a loaded machine stretches, is not counted);
    raises TimeoutError after `timeout`."""
    start = time.perf_counter()
    while True:
        asked = time.perf_counter()
        if predicate():
            return asked - start
        if time.perf_counter() - start > timeout:
            raise TimeoutError(f"not true within {timeout}s")
        time.sleep(interval)
