"""Token endpoint throughput and latency under `wrk` load, against the bare baseline.

Each scenario runs several times, alternating with the baseline so both see the same machine
noise; the table reports medians and the ratio to the baseline measured in the same run.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
SERVICE = "registry.bench:5000"


@dataclass
class Sample:
    rps: float
    p50_ms: float
    p99_ms: float


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)  # noqa: S310 - loopback only
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def wrk(url: str, headers: dict[str, str], seconds: int, connections: int) -> Sample:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    for k, v in headers.items():
        cmd[1:1] = ["-H", f"{k}: {v}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    if re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        raise RuntimeError(f"wrk saw errors:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def pct(p: str) -> float:
        value, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return Sample(rps, pct("50"), pct("99"))


def cli(env: dict[str, str], *args: str, stdin: str = "") -> str:
    return subprocess.run([str(VENV_BIN / "wharfinger"), *args], input=stdin, env=env,
                          capture_output=True, text=True, check=True).stdout


def main(runs: int = 3, seconds: int = 5, connections: int = 32) -> list[dict[str, object]]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (scripts/setup-test-env.sh)")
    work = Path(tempfile.mkdtemp(prefix="wharfinger-bench-"))
    env = {"PATH": os.environ["PATH"], "WHARFINGER_DATA_DIR": str(work / "data"),
           "WHARFINGER_MACHINE_FQDN_VALUE": "bench.test"}
    boot = json.loads(cli(env, "bootstrap", "--username", "admin", "--email", "a@example.org",
                          "--password-stdin", "--json", stdin="bench password 123\n"))
    cli(env, "registry", "create", "--name", "bench", "--hostname", SERVICE)
    port, bare_port = free_port(), free_port()
    server = subprocess.Popen([str(VENV_BIN / "wharfinger"), "serve", "--listen",
                               f"127.0.0.1:{port}"], env=env, stdout=subprocess.DEVNULL)
    bare = subprocess.Popen([sys.executable, str(ROOT / "bench" / "bare_token_server.py"),
                             str(work / "bare-keys"), str(bare_port)], cwd=ROOT,
                            env={**env, "PYTHONPATH": str(ROOT)})
    basic = "Basic " + base64.b64encode(f"admin:{boot['plain_token']}".encode()).decode()
    scenarios = {
        "application token, push+pull": (
            f"/v2/token?service={SERVICE}&scope=repository:admin/app:pull,push",
            {"Authorization": basic}),
        "anonymous pull, public namespace": (
            f"/v2/token?service={SERVICE}&scope=repository:busybox:pull", {}),
    }
    rows: list[dict[str, object]] = []
    try:
        wait_ready(f"http://127.0.0.1:{port}/api/v1/_ping")
        wait_ready(f"http://127.0.0.1:{bare_port}/v2/token?service=x&scope=a:b:c")
        for name, (path, headers) in scenarios.items():
            ours, base = [], []
            wrk(f"http://127.0.0.1:{port}{path}", headers, 1, connections)  # warm up
            for _ in range(runs):
                ours.append(wrk(f"http://127.0.0.1:{port}{path}", headers, seconds, connections))
                base.append(wrk(f"http://127.0.0.1:{bare_port}{path}", {}, seconds, connections))
            rps = statistics.median(s.rps for s in ours)
            base_rps = statistics.median(s.rps for s in base)
            rows.append({"scenario": name, "req_per_s": round(rps),
                         "p50_ms": round(statistics.median(s.p50_ms for s in ours), 2),
                         "p99_ms": round(statistics.median(s.p99_ms for s in ours), 2),
                         "baseline_req_per_s": round(base_rps),
                         "ratio": round(rps / base_rps, 2)})
    finally:
        server.terminate()
        bare.terminate()
        server.wait(10)
        bare.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    return rows


def print_table(rows: list[dict[str, object]]) -> None:
    cols = list(rows[0])
    print(" | ".join(cols))
    for row in rows:
        print(" | ".join(str(row[c]) for c in cols))


if __name__ == "__main__":
    print_table(main())
