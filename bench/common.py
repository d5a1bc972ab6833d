"""What every benchmark shares: medians over runs, ratios to a same-run baseline, the table.

These machines are noisy and shared, so an absolute figure alone means little: each benchmark
alternates its subject with a baseline in the same run and reports the median of each and their
ratio. A row is a plain dict so the whole run can be written as JSON beside the printed table.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent

Row = dict[str, object]


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def row(benchmark: str, case: str, *, value: float, unit: str, baseline: float | None = None,
        baseline_name: str = "", target: str = "", better: str = "higher",
        **extra: object) -> Row:
    """One line of the table: the median `value`, and its ratio to `baseline` if there is one.

    `better` says which direction is good ("higher" for rates, "lower" for latencies), so the
    ratio always reads "x times the baseline" without the reader flipping it."""
    ratio = None
    if baseline:
        ratio = round(value / baseline, 3)
    return {"benchmark": benchmark, "case": case, "value": _round(value), "unit": unit,
            "baseline": _round(baseline) if baseline is not None else None,
            "baseline_name": baseline_name, "ratio": ratio, "better": better,
            "target": target, **extra}


def _round(x: float) -> float:
    return round(x, 3) if abs(x) < 100 else round(x, 1)


def machine() -> dict[str, object]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            "host": platform.node(), "nproc": os.cpu_count(), "cpu": cpu,
            "python": platform.python_version(),
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def print_table(rows: Sequence[Row], out: object = None) -> None:
    cols = ["benchmark", "case", "value", "unit", "baseline", "baseline_name", "ratio", "target"]
    cells = [[("" if r.get(c) is None else str(r.get(c))) for c in cols] for r in rows]
    widths = [max(len(c), *(len(line[i]) for line in cells)) for i, c in enumerate(cols)]
    stream = out or sys.stdout
    print(" | ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)), file=stream)
    print("-+-".join("-" * w for w in widths), file=stream)
    for line in cells:
        print(" | ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)), file=stream)


def write_json(path: Path, rows: Sequence[Row]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"machine": machine(), "rows": list(rows)}, indent=2) + "\n")


def require_wrk() -> None:
    """The load generator of the token and intake benchmarks (Debian's `wrk`)."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (scripts/setup-test-env.sh)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)  # noqa: S310 - loopback only
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def cli(env: dict[str, str], *args: str, stdin: str = "") -> str:
    """Run the `wharfinger` command line; its stderr is shown if it fails."""
    done = subprocess.run([str(VENV_BIN / "wharfinger"), *args], input=stdin, env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wharfinger {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout
