"""Resident memory of the permission projection at 100k users, 10k teams, 50k namespaces.

Measured in a child process of its own, so nothing else the benchmark run allocated counts. The
world's history is generated on the fly and folded straight into a `PermissionIndex` (no store),
reading the resident set size (RSS) after each kind of entity, so the cost is stated per user
(with its password hash and one application token), per team (with its memberships) and per
namespace, over the RSS of the process before the first event.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import time
from pathlib import Path

from bench.common import ROOT, Row, row

PHASES = {"User": "users", "NameClaim": "users", "Team": "teams", "Namespace": "namespaces",
          "Registry": "registry"}


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def measure(users: int, teams: int, namespaces: int, members: int) -> dict[str, int]:
    """In this process: fold the world's history, noting RSS when each phase ends."""
    from bench.history import World, events_of
    from eventstore.reader import LoggedEvent
    from projections.permissions import PermissionIndex

    index = PermissionIndex()
    gc.collect()
    marks = {"start": _rss()}
    phase = "registry"
    for position, event in enumerate(events_of(World(users, teams, namespaces, members)), 1):
        kind = PHASES[type(event).__qualname__.split(".")[0]]
        if kind != phase:
            gc.collect()
            marks[phase] = _rss()
            phase = kind
        index.apply(LoggedEvent(position, event))
    gc.collect()
    marks[phase] = _rss()
    assert (len(index.users), len(index.teams), len(index.namespaces)) == (
        users, teams, namespaces)
    # What a full collection of the cyclic garbage collector costs with this projection in
    # the heap (a pause of the event loop), and after gc.freeze(), which `wharfinger serve`
    # calls once its read models are loaded (web/cli.py).
    marks["gc_pause_us"] = _collect_us()
    gc.freeze()
    marks["gc_pause_frozen_us"] = _collect_us()
    gc.unfreeze()
    return marks


def _collect_us(runs: int = 5) -> int:
    """Median duration of a full `gc.collect()`, in µs."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        gc.collect()
        times.append(time.perf_counter() - started)
    return round(sorted(times)[runs // 2] * 1e6)


def main(users: int = 100_000, teams: int = 10_000, namespaces: int = 50_000,
         members: int = 10) -> list[Row]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.memory", str(users), str(teams), str(namespaces),
         str(members)], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    m = json.loads(out)
    per_user = (m["users"] - m["registry"]) / users
    per_team = (m["teams"] - m["users"]) / teams
    per_ns = (m["namespaces"] - m["teams"]) / namespaces
    total = m["namespaces"] - m["start"]
    case = f"{users:,} users, {teams:,} teams x {members} members, {namespaces:,} namespaces"
    mib = 1024 * 1024
    return [
        row("projection memory", case, value=total / mib, unit="MiB", better="lower",
            target="stated per user/team", process_rss_before_mib=round(m["start"] / mib, 1)),
        row("projection memory", "per user (password hash, 1 app token)", value=per_user,
            unit="bytes", better="lower"),
        row("projection memory", f"per team ({members} members)", value=per_team, unit="bytes",
            better="lower"),
        row("projection memory", "per namespace", value=per_ns, unit="bytes", better="lower"),
        row("projection memory", "full garbage collection pause with this projection loaded,"
            " after gc.freeze() (as `wharfinger serve` does once loaded)",
            value=m["gc_pause_frozen_us"] / 1000, unit="ms", better="lower",
            baseline=m["gc_pause_us"] / 1000, baseline_name="the same, not frozen"),
    ]


if __name__ == "__main__":
    print(json.dumps(measure(*(int(a) for a in sys.argv[1:5]))))
