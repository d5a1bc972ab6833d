"""Token endpoint throughput and latency, against the bare baseline in the same run.

Maximum rate: `wrk` (closed loop, 32 connections) for each
scenario, alternating Wharfinger and the bare server (bench/bare_token_server.py) so both see
the same machine noise; medians over runs.
Latency at half the maximum rate: `bench.openloop` in a separate process sends at a fixed rate
(half Wharfinger's median maximum) and measures from each request's scheduled time.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench.common import (
    ROOT,
    VENV_BIN,
    Row,
    cli,
    free_port,
    median,
    require_wrk,
    row,
    wait_ready,
)

SERVICE = "registry.bench:5000"
PASSWORD = "bench password 123"  # noqa: S105 - a throwaway install's admin


@dataclass
class Sample:
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_us: float = 0.0
    """The server process's CPU time per request (all threads), µs."""
    main_cpu_us: float = 0.0
    """The same for its main thread (the event loop) alone."""


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """User + system CPU time of a process (or one of its threads), from /proc."""
    path = f"/proc/{pid}/task/{thread}/stat" if thread else f"/proc/{pid}/stat"
    with open(path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def wrk_measuring(url: str, scenario: Scenario, seconds: int, work: Path, pid: int) -> Sample:
    """`wrk`, plus the CPU time the server at `pid` spent per request meanwhile (noise from
    other processes changes a rate much more than the CPU time each request costs)."""
    before, main_before = cpu_seconds(pid), cpu_seconds(pid, pid)
    sample = wrk(url, scenario, seconds, work)
    requests = max(1.0, sample.rps * seconds)
    sample.cpu_us = round((cpu_seconds(pid) - before) / requests * 1e6, 1)
    sample.main_cpu_us = round((cpu_seconds(pid, pid) - main_before) / requests * 1e6, 1)
    return sample


@dataclass(frozen=True)
class Scenario:
    name: str
    method: str
    path: str
    headers: dict[str, str]
    body: str = ""
    target: str = "ratio >= 0.8; p99 <= 10 ms at half rate"
    connections: int = 32


def wrk(url: str, scenario: Scenario, seconds: int, work: Path) -> Sample:
    cmd = ["wrk", "-t1", f"-c{scenario.connections}", f"-d{seconds}s", "--timeout", "10s",
           "--latency"]
    for k, v in scenario.headers.items():
        cmd += ["-H", f"{k}: {v}"]
    if scenario.method == "POST":
        script = work / "post.lua"
        script.write_text(f'wrk.method = "POST"\nwrk.body = {json.dumps(scenario.body)}\n'
                          'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n')
        cmd += ["-s", str(script)]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    if re.search(r"Non-2xx or 3xx responses: (\d+)", out) or "Socket errors" in out \
            or " 0 requests in" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def pct(p: str) -> float:
        value, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return Sample(rps, pct("50"), pct("99"))


def open_loop(port: int, scenario: Scenario, rate: float, seconds: int) -> dict[str, float]:
    headers = [f"{k}: {v}" for k, v in scenario.headers.items()]
    if scenario.method == "POST":
        headers.append("Content-Type: application/x-www-form-urlencoded")
    out = subprocess.run(
        [sys.executable, "-m", "bench.openloop", "127.0.0.1", str(port), str(rate),
         str(seconds), str(scenario.connections), scenario.method, scenario.path, *headers,
         "--body", scenario.body],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout
    result: dict[str, float] = json.loads(out)
    if result["errors"]:
        raise RuntimeError(f"open-loop run saw errors: {result}")
    return result


def scenarios(boot: dict[str, str], port: int) -> list[Scenario]:
    basic = "Basic " + base64.b64encode(f"admin:{boot['plain_token']}".encode()).decode()
    password = "Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
    offline = urllib.request.Request(
        f"http://127.0.0.1:{port}/v2/token?service={SERVICE}&offline_token=true",
        headers={"Authorization": basic})
    with urllib.request.urlopen(offline, timeout=10) as response:  # noqa: S310 - loopback
        refresh = json.load(response)["refresh_token"]
    scope = "repository:admin/app:pull,push"
    return [
        Scenario("application token Basic, push+pull", "GET",
                 f"/v2/token?service={SERVICE}&scope={scope}", {"Authorization": basic}),
        Scenario("anonymous pull, public namespace", "GET",
                 f"/v2/token?service={SERVICE}&scope=repository:busybox:pull", {}),
        Scenario("refresh-token POST, push+pull", "POST", "/v2/token", {},
                 f"grant_type=refresh_token&service={SERVICE}&scope={scope}"
                 f"&refresh_token={refresh}"),
        # `docker pull` sends the password on every token request: after the first argon2id
        # check, the verified-credential cache (web/credential_cache.py) answers.
        Scenario("password Basic, repeated (credential cache), push+pull", "GET",
                 f"/v2/token?service={SERVICE}&scope={scope}", {"Authorization": password},
                 target="rate >= 0.5x application token"),
    ]


def main(runs: int = 3, seconds: int = 5, open_loop_seconds: int = 10) -> list[Row]:
    """The four cases, each against the bare server."""
    require_wrk()
    work = Path(tempfile.mkdtemp(prefix="wharfinger-bench-"))
    server, port, boot = start_server(work / "data")
    bare_port = free_port()
    bare = subprocess.Popen([sys.executable, str(ROOT / "bench" / "bare_token_server.py"),
                             str(work / "bare-keys"), str(bare_port)], cwd=ROOT,
                            env={"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)})
    rows: list[Row] = []
    app_token_rps = 0.0
    try:
        wait_ready(f"http://127.0.0.1:{bare_port}/v2/token?service=x&scope=a:b:c")
        for scenario in scenarios(boot, port):
            try:
                rows.append(measure(scenario, port, bare_port, work, runs, seconds,
                                    open_loop_seconds, app_token_rps,
                                    pids=(server.pid, bare.pid)))
            except (RuntimeError, subprocess.CalledProcessError) as e:
                rows.append(row("token endpoint", scenario.name, value=0, unit="req/s",
                                target=scenario.target, error=str(e)[:500]))
                continue
            if not scenario.target.startswith("rate"):
                app_token_rps = app_token_rps or float(str(rows[-1]["value"]))
    finally:
        for process in (server, bare):
            process.terminate()
            process.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    return rows


def start_server(data_dir: Path, environment: dict[str, str] | None = None
                 ) -> tuple[subprocess.Popen[bytes], int, dict[str, str]]:
    """A bootstrapped `wharfinger serve` on `data_dir`, ready: its process, port and the
    bootstrap answer (the admin's application token). `environment` adds variables (settings
    as WHARFINGER_* variables, for experiments)."""
    env = {"PATH": os.environ["PATH"], "WHARFINGER_DATA_DIR": str(data_dir),
           "WHARFINGER_MACHINE_FQDN_VALUE": "bench.test", **(environment or {})}
    boot = json.loads(cli(env, "bootstrap", "--username", "admin", "--email", "a@example.org",
                          "--password-stdin", "--json", stdin=PASSWORD + "\n"))
    cli(env, "registry", "create", "--name", "bench", "--hostname", SERVICE)
    port = free_port()
    server = subprocess.Popen([str(VENV_BIN / "wharfinger"), "serve", "--listen",
                               f"127.0.0.1:{port}"], env=env, stdout=subprocess.DEVNULL)
    try:
        wait_ready(f"http://127.0.0.1:{port}/api/v1/_ping")
    except BaseException:
        server.terminate()
        raise
    return server, port, boot


TMPFS = "/dev/shm"  # noqa: S108 - a diagnostic's throwaway data directory


def disk_diagnostic(runs: int = 3, seconds: int = 5, open_loop_seconds: int = 10) -> list[Row]:
    """`without_fsync` on a server of its own (`python -m bench --only token_disk`: not part of
    the default run, which it would lengthen by about a minute for no target)."""
    require_wrk()
    if not Path(TMPFS).is_dir():
        raise SystemExit(f"{TMPFS} (tmpfs) is missing: the diagnostic needs a data directory"
                         " in memory")
    work = Path(tempfile.mkdtemp(prefix="wharfinger-bench-"))
    server, port, boot = start_server(work / "data")
    try:
        return [without_fsync(server, port, boot, work, runs, seconds, open_loop_seconds)]
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(work, ignore_errors=True)


def without_fsync(server: subprocess.Popen[bytes], port: int, boot: dict[str, str], work: Path,
                  runs: int, seconds: int, open_loop_seconds: int) -> Row:
    """A diagnostic, not a target: the application-token case against a second server whose
    data directory is in memory (tmpfs, where a commit's fsync returns at once), alternating
    with the server on disk. Their ratio is what waiting for the disk costs the endpoint:
    every decision record is committed, with fsync, before its token is sent."""
    scenario = scenarios(boot, port)[0]
    memory_dir = Path(tempfile.mkdtemp(prefix="wharfinger-bench-", dir=TMPFS))
    try:
        in_memory, memory_port, memory_boot = start_server(memory_dir / "data")
        try:
            memory_scenario = scenarios(memory_boot, memory_port)[0]
            disk_url = f"http://127.0.0.1:{port}{scenario.path}"
            memory_url = f"http://127.0.0.1:{memory_port}{memory_scenario.path}"
            wrk(memory_url, memory_scenario, 2, work)
            on_disk, in_ram = [], []
            for _ in range(runs):
                on_disk.append(wrk_measuring(disk_url, scenario, seconds, work, server.pid))
                in_ram.append(wrk_measuring(memory_url, memory_scenario, seconds, work,
                                            in_memory.pid))
            # Latency at half the disk server's maximum, as the targets are measured: how much
            # of the tail is the disk's.
            half_rate = median(s.rps for s in on_disk) / 2
            disk_half = open_loop(port, scenario, half_rate, open_loop_seconds)
            memory_half = open_loop(memory_port, memory_scenario, half_rate, open_loop_seconds)
        finally:
            in_memory.terminate()
            in_memory.wait(10)
    finally:
        shutil.rmtree(memory_dir, ignore_errors=True)
    return row("token endpoint", "application token Basic, data directory in memory (tmpfs:"
                                 " no fsync wait; diagnostic)",
               value=median(s.rps for s in in_ram), unit="req/s",
               baseline=median(s.rps for s in on_disk), baseline_name="the same on disk",
               target="", cpu_us_per_req=median(s.cpu_us for s in in_ram),
               disk_cpu_us_per_req=median(s.cpu_us for s in on_disk),
               p99_ms=round(median(s.p99_ms for s in in_ram), 2),
               disk_p99_ms=round(median(s.p99_ms for s in on_disk), 2),
               half_rate=round(half_rate), half_rate_p50_ms=memory_half["p50_ms"],
               half_rate_p99_ms=memory_half["p99_ms"], disk_half_rate_p50_ms=disk_half["p50_ms"],
               disk_half_rate_p99_ms=disk_half["p99_ms"])


def measure(scenario: Scenario, port: int, bare_port: int, work: Path, runs: int, seconds: int,
            open_loop_seconds: int, app_token_rps: float, pids: tuple[int, int]) -> Row:
    ours, base = [], []
    url, bare_url = (f"http://127.0.0.1:{p}{scenario.path}" for p in (port, bare_port))
    slow = scenario.connections <= 4  # argon2: a few per second, give wrk time
    length = max(seconds, 10) if slow else seconds
    if not slow:
        wrk(url, scenario, 2, work)  # warm up
    for _ in range(runs):
        ours.append(wrk_measuring(url, scenario, length, work, pids[0]))
        base.append(wrk_measuring(bare_url, scenario, seconds, work, pids[1]))
    rps = median(s.rps for s in ours)
    half = open_loop(port, scenario, rps / 2, max(open_loop_seconds, 10))
    # The same rate against the bare server: what the machine and the Python load
    # generator add to every latency, whatever the server does (a diagnostic: half as long).
    bare_half = (None if slow
                 else open_loop(bare_port, scenario, rps / 2, max(3, open_loop_seconds // 2)))
    baseline, baseline_name = median(s.rps for s in base), "bare aiohttp+pyjwt"
    if scenario.target.startswith("rate"):
        # Its target is relative to application-token Basic, measured just before.
        baseline, baseline_name = app_token_rps, "application token Basic"
    return row(
        "token endpoint", scenario.name, value=rps, unit="req/s",
        baseline=baseline, baseline_name=baseline_name, target=scenario.target,
        p50_ms=round(median(s.p50_ms for s in ours), 2),
        p99_ms=round(median(s.p99_ms for s in ours), 2),
        baseline_p99_ms=round(median(s.p99_ms for s in base), 2),
        half_rate=round(rps / 2), half_rate_p50_ms=half["p50_ms"],
        half_rate_p99_ms=half["p99_ms"],
        bare_half_rate_p99_ms=bare_half["p99_ms"] if bare_half else None,
        bare_req_per_s=round(median(s.rps for s in base)),
        cpu_us_per_req=median(s.cpu_us for s in ours),
        main_thread_cpu_us_per_req=median(s.main_cpu_us for s in ours),
        bare_cpu_us_per_req=median(s.cpu_us for s in base))
