"""Token endpoint, A/B: servers built from source trees and the bare server, loaded in turn.

    python -m bench.token_ab OLD_TREE NEW_TREE [--rounds 6] [--seconds 5] [--cases 0,1,2,3]
                             [--latency-at RATE]

Each tree (a checkout or `git worktree` of some commit) gets a bootstrapped `wharfinger serve`
of its own (SQLite, a data directory of its own), started with this venv's Python and the tree
first on PYTHONPATH; the bare token server (bench/bare_token_server.py) joins the rotation. Each
case of `bench.token_endpoint.scenarios` (0 application token, 1 anonymous, 2 refresh POST,
3 repeated password) is loaded with `wrk` (32 connections) server after server, the order
rotating every round, so all see the same machine. Prints every round, then per server the
medians of req/s, server CPU per request (/proc, all threads of its process; a sealer process
of its own is not counted) and the ratio to the bare server of the same round: on a shared
machine rates swing, same-round ratios and CPU per request much less.

`--latency-at RATE`: instead of the maximum rate, latency at a fixed rate (the targets' "p99
at half the maximum rate"): `bench.openloop` sends RATE requests per second for `--seconds` to
each server in turn, and the medians of p50 and p99 over the rounds are printed, with how long
the server's main thread (its event loop) was runnable but waiting for a core, per second
(/proc/PID/task/PID/schedstat: the machine's other processes, the load generator's included,
taking the cores it needed).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import ROOT, free_port, wait_ready
from bench.token_endpoint import (
    PASSWORD,
    SERVICE,
    Scenario,
    cpu_seconds,
    open_loop,
    scenarios,
    wrk,
    wrk_measuring,
)

_MAIN = "import sys; from web.cli import main; sys.exit(main())"
BARE = "bare"


def _serve(tree: Path, work: Path) -> tuple[subprocess.Popen[bytes], int, dict[str, str]]:
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(tree),
           "WHARFINGER_DATA_DIR": str(work / "data"),
           "WHARFINGER_MACHINE_FQDN_VALUE": "bench.test"}

    def cli(*argv: str, stdin: str = "") -> str:
        return subprocess.run([sys.executable, "-c", _MAIN, *argv], input=stdin, env=env,
                              cwd=tree, check=True, capture_output=True, text=True).stdout

    boot = json.loads(cli("bootstrap", "--username", "admin", "--email", "a@example.org",
                          "--password-stdin", "--json", stdin=PASSWORD + "\n"))
    cli("registry", "create", "--name", "bench", "--hostname", SERVICE)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", _MAIN, "serve", "--listen",
                               f"127.0.0.1:{port}"], env=env, cwd=tree,
                              stdout=subprocess.DEVNULL)
    wait_ready(f"http://127.0.0.1:{port}/api/v1/_ping")
    return server, port, boot


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.token_ab")
    parser.add_argument("trees", nargs="+", type=Path)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--cases", default="0")
    parser.add_argument("--latency-at", type=float, default=0.0, metavar="RATE",
                        help="measure p50/p99 at this many requests per second instead")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        work = Path(tempfile.mkdtemp(prefix="wharfinger-token-ab-"))
        stack.callback(shutil.rmtree, work, True)
        servers: dict[str, tuple[subprocess.Popen[bytes], int, dict[str, str] | None]] = {}
        for n, tree in enumerate(args.trees):
            server, port, boot = _serve(tree.resolve(), work / str(n))
            stack.callback(server.wait, 15)
            stack.callback(server.terminate)
            servers[str(tree)] = (server, port, boot)
        bare_port = free_port()
        bare = subprocess.Popen([sys.executable, str(ROOT / "bench" / "bare_token_server.py"),
                                 str(work / "bare-keys"), str(bare_port)], cwd=ROOT,
                                env={"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)})
        stack.callback(bare.wait, 15)
        stack.callback(bare.terminate)
        wait_ready(f"http://127.0.0.1:{bare_port}/v2/token?service=x&scope=a:b:c")
        servers[BARE] = (bare, bare_port, None)
        cases = {name: scenarios(boot, port) for name, (_, port, boot) in servers.items()
                 if boot is not None}
        names = list(servers)
        for case in map(int, args.cases.split(",")):
            # The bare server ignores credentials: any tree's requests will do.
            plan = {name: cases.get(name, next(iter(cases.values())))[case] for name in names}
            for name, (_, port, _) in servers.items():
                wrk(f"http://127.0.0.1:{port}{plan[name].path}", plan[name], 2, work)  # warm
            if args.latency_at:
                latencies(servers, plan, names, args.rounds, args.latency_at, args.seconds)
                continue
            results: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
            for round_ in range(args.rounds):
                shift = round_ % len(names)
                for name in names[shift:] + names[:shift]:
                    process, port, _ = servers[name]
                    sample = wrk_measuring(f"http://127.0.0.1:{port}{plan[name].path}",
                                           plan[name], args.seconds, work, process.pid)
                    cpu_us = sample.cpu_us
                    results[name].append((sample.rps, cpu_us))
                    print(f"{plan[name].name[:30]:30} {name:32} round {round_}:"
                          f" {sample.rps:7.0f} req/s {cpu_us:6.1f} us CPU/req,"
                          f" load {os.getloadavg()[0]:.2f}", flush=True)
            bare_rates = [rps for rps, _ in results[BARE]]
            for name, rows in results.items():
                ratios = [rps / b for (rps, _), b in zip(rows, bare_rates, strict=True)]
                print(f"median {name:32} {statistics.median(r for r, _ in rows):7.0f} req/s"
                      f" {statistics.median(c for _, c in rows):6.1f} us CPU/req"
                      f" same-round ratio to bare {statistics.median(ratios):.3f}")


def latencies(servers: dict[str, tuple[subprocess.Popen[bytes], int, dict[str, str] | None]],
              plan: dict[str, Scenario], names: list[str], rounds: int, rate: float,
              seconds: int) -> None:
    found: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    for round_ in range(rounds):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            process, port, _ = servers[name]
            waited, cpu = _runqueue_wait_ms(process.pid), _cpu_with_children(process.pid)
            result = open_loop(port, plan[name], rate, seconds)
            result["waited_ms_per_s"] = (_runqueue_wait_ms(process.pid) - waited) / seconds
            result["cpu_ms_per_s"] = (_cpu_with_children(process.pid) - cpu) * 1000 / seconds
            found[name].append(result)
            print(f"{plan[name].name[:30]:30} {name:32} round {round_}: at {rate:.0f} req/s"
                  f" p50 {result['p50_ms']:6.2f} ms p99 {result['p99_ms']:6.2f} ms, event"
                  f" loop waited for a core {result['waited_ms_per_s']:5.1f} ms/s, CPU"
                  f" {result['cpu_ms_per_s']:5.0f} ms/s,"
                  f" load {os.getloadavg()[0]:.2f}", flush=True)
    for name, results in found.items():
        print(f"median {name:32} at {rate:.0f} req/s"
              f" p50 {statistics.median(r['p50_ms'] for r in results):6.2f} ms"
              f" p99 {statistics.median(r['p99_ms'] for r in results):6.2f} ms, event loop"
              f" waited for a core"
              f" {statistics.median(r['waited_ms_per_s'] for r in results):5.1f} ms/s, CPU"
              f" {statistics.median(r['cpu_ms_per_s'] for r in results):5.0f} ms/s")


def _cpu_with_children(pid: int) -> float:
    """CPU seconds of a server and of the processes it started (a sealer process)."""
    children: list[str] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            children += (task / "children").read_text().split()
    total = cpu_seconds(pid)
    for child in children:
        with contextlib.suppress(OSError):
            total += cpu_seconds(int(child))
    return total


def _runqueue_wait_ms(pid: int) -> float:
    """Time the process's main thread has spent runnable but not running (Linux schedstat)."""
    with open(f"/proc/{pid}/task/{pid}/schedstat") as f:
        return int(f.read().split()[1]) / 1e6


if __name__ == "__main__":
    main()
