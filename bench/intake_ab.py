"""Registry notification intake, A/B: servers built from two source trees, loaded in turn.

    python -m bench.intake_ab OLD_TREE NEW_TREE [--backend postgresql|sqlite] [--rounds 6]

Each tree (a checkout or `git worktree` of some commit) gets a `wharfinger serve` of its own,
on a store of its own, started with this venv's Python and the tree first on PYTHONPATH. They
are loaded one after the other (wrk, 16 connections, 10 captured events per envelope, as
`bench.webhook.throughput`), in alternating order, round after round, so both see the same
machine: on a shared machine the rate follows the CPU share a server gets, and the CPU each
uses per event acknowledged (/proc/PID/stat, threads included; the database's own is not)
moves much less with the load. Prints every round and the medians.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import free_port, wait_ready
from bench.stores import postgres_schema
from bench.webhook import _timed, _wrk, write_templates

_MAIN = "import sys; from web.cli import main; sys.exit(main())"


def _serve(tree: Path, work: Path, database_url: str | None
           ) -> tuple[subprocess.Popen[bytes], str, str]:
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(tree),
           "WHARFINGER_DATA_DIR": str(work / "data"),
           "WHARFINGER_BACKGROUND_SYNC_ENABLED": "false"}
    if database_url:
        env["WHARFINGER_DATABASE_URL"] = database_url
    subprocess.run([sys.executable, "-c", _MAIN, "registry", "create", "--name", "bench",
                    "--hostname", "registry.bench:5000"], env=env, cwd=tree, check=True,
                   capture_output=True)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", _MAIN, "serve", "--listen",
                               f"127.0.0.1:{port}"], env=env, cwd=tree,
                              stdout=subprocess.DEVNULL)
    wait_ready(f"http://127.0.0.1:{port}/api/v1/_ping")
    secret = (work / "data" / "keys" / "notification.secret").read_text().strip()
    return server, f"http://127.0.0.1:{port}/v2/webhooks/events", secret


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.intake_ab")
    parser.add_argument("trees", nargs="+", type=Path)
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=int, default=4)
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        servers = []
        for tree in args.trees:
            work = Path(tempfile.mkdtemp(prefix="wharfinger-ab-"))
            stack.callback(shutil.rmtree, work, True)
            url = (stack.enter_context(postgres_schema()) if args.backend == "postgresql"
                   else None)
            server, endpoint, secret = _serve(tree.resolve(), work, url)
            stack.callback(server.wait, 15)
            stack.callback(server.terminate)
            templates = work / "intake_events.lua"
            write_templates(templates)
            load = functools.partial(_wrk, endpoint, secret, templates, connections=16,
                                     per_envelope=10)
            load(seconds=2, run="warm")
            servers.append((str(tree), server.pid, load))
        results: dict[str, list[dict[str, float]]] = {name: [] for name, _, _ in servers}
        for round_ in range(args.rounds):
            for name, pid, load in servers if round_ % 2 == 0 else servers[::-1]:
                before = os.getloadavg()[0]
                counts = _timed(pid, functools.partial(load, seconds=args.seconds,
                                                       run=f"r{round_}"))
                results[name].append(counts)
                print(f"{name:32} round {round_}: {counts['events_per_s']:7.0f} events/s"
                      f" {counts['cpu_us_per_event']:6.1f} us CPU/event"
                      f" p50 {counts['p50_ms']:.1f} ms, load {before:.2f}", flush=True)
        for name, rows in results.items():
            print(f"median {name:32} {statistics.median(r['events_per_s'] for r in rows):7.0f}"
                  f" events/s {statistics.median(r['cpu_us_per_event'] for r in rows):6.1f}"
                  " us CPU/event")


if __name__ == "__main__":
    main()
