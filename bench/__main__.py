"""`python -m bench` (`make bench`): every benchmark, one table of medians and ratios, and JSON.

    python -m bench [--quick] [--only token,rebuild,memory,...] [--json PATH]

The table goes to stdout; every row (with its extra figures: percentiles, rates at half load)
and the machine description go to `bench/results/latest.json` unless --json says otherwise.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

from bench import feed, memory, rebuild, time_travel, token_endpoint, two_nodes, webhook
from bench.common import ROOT, Row, machine, median, print_table, row, write_json
from bench.stores import location


def time_travel_rows(events: int = 1_000_000, runs: int = 30) -> list[Row]:
    """bench/time_travel.py (issue 5's benchmark) as rows: SQLite, its full replay as baseline.

    At the target's 1M events: on a quiet machine building them takes about 75 s and the fold
    checkpoints, written meanwhile by a second process, finish ~20 s later. A query takes
    ~50-120 ms, so 30 of them; the baseline, a full replay to T (~15 s), runs once."""
    with location("sqlite") as where:
        samples = time_travel.run(where, events, runs)
    return [row("time travel", f"permissions of a user at a random T, {events:,} events, sqlite",
                value=median(samples["time travel"]), unit="ms", better="lower",
                baseline=median(samples["full replay"]),
                baseline_name="full replay from the start to T", target="<= 200 ms",
                live_index_ms=round(median(samples["live index"]), 3))]


BENCHMARKS: dict[str, tuple[Callable[[], list[Row]], Callable[[], list[Row]]]] = {
    # name: (full run, --quick run), run in this order: the two that write gigabytes (1M
    # events; 10M feed entries) come last, so the disk's write-back after them cannot slow the
    # durable appends measured before them (intake after the 10M feed: PostgreSQL 335 us of
    # server CPU per event, 264 on its own a minute later).
    "token": (token_endpoint.main, lambda: token_endpoint.main(runs=1, seconds=3,
                                                               open_loop_seconds=3)),
    # 100k events: 1M (the target's size) on both backends took over 15 minutes alone on the
    # shared 2-core machine, 200k about 7; the rate in events/s hardly depends on the size.
    # The 1M run: `python -c 'from bench import rebuild; print(rebuild.main(events=1_000_000))'`.
    "rebuild": (lambda: rebuild.main(events=100_000),
                lambda: rebuild.main(events=20_000, runs=1)),
    # Latency of one notification, then events/s under concurrent load on both backends.
    "webhook": (lambda: webhook.main() + webhook.throughput(runs=3, seconds=4),
                lambda: webhook.main(count=100) + webhook.throughput(("sqlite",), runs=1,
                                                                     seconds=3)),
    "memory": (memory.main, lambda: memory.main(10_000, 1_000, 5_000)),
    "two_nodes": (two_nodes.main, lambda: two_nodes.main(changes=10)),
    "time_travel": (time_travel_rows, lambda: time_travel_rows(events=20_000, runs=5)),
    # Rebuild over real events, then pages at the target's 1M and 10M entries on PostgreSQL
    # (the production backend): one feed loaded by the database itself (bench/feed_entries.py),
    # measured at 1M, grown to 10M, measured; SQLite at 1M. Growing a second feed to 10M would
    # add about 2.5 minutes on a quiet machine and take make bench near its 15 (docs/
    # benchmarks.md); SQLite's 10M: `python -m bench.feed --backends sqlite`.
    "feed": (lambda: feed.main(events=50_000) + feed.pages((1_000_000,), ("sqlite",), count=200)
             + feed.pages(feed.SIZES, ("postgresql",), count=200),
             lambda: feed.main(events=10_000, pages=15) + feed.pages((10_000, 30_000),
                                                                      count=15)),
}

DIAGNOSTICS: dict[str, tuple[Callable[[], list[Row]], Callable[[], list[Row]]]] = {
    # Run only when named (--only): figures that explain a target, not targets.
    # What waiting for the disk costs the token endpoint (its data directory in memory).
    "token_disk": (token_endpoint.disk_diagnostic,
                   lambda: token_endpoint.disk_diagnostic(runs=1, seconds=3,
                                                          open_loop_seconds=3)),
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="small sizes, one run (smoke test)")
    parser.add_argument("--only", default="", help="comma-separated: " + ",".join(BENCHMARKS)
                        + " (all of these by default), or the diagnostics "
                        + ",".join(DIAGNOSTICS))
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "latest.json")
    args = parser.parse_args()
    chosen = [n for n in args.only.split(",") if n] or list(BENCHMARKS)
    unknown = set(chosen) - set(BENCHMARKS) - set(DIAGNOSTICS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    m = machine()
    print(f"# Wharfinger benchmarks, {m['date']}, {m['nproc']} x {m['cpu']},"
          f" Python {m['python']}, load {m['load_average']}", flush=True)
    rows: list[Row] = []
    for name in chosen:
        started = time.monotonic()
        full, quick = BENCHMARKS.get(name) or DIAGNOSTICS[name]
        try:
            new = quick() if args.quick else full()
        except Exception as e:  # one broken benchmark must not lose the others' figures
            print(f"# {name} FAILED: {type(e).__name__}: {e}", flush=True)
            new = [row(name, "FAILED", value=0, unit="", error=f"{type(e).__name__}: {e}")]
        for r in new:
            r["seconds"] = round(time.monotonic() - started)
        rows.extend(new)
        print(f"# {name}: {time.monotonic() - started:.0f} s", flush=True)
        write_json(args.json, rows)  # after each benchmark, so a late failure keeps the rest
        os.sync()  # what it wrote is on disk before the next one measures
    print_table(rows)
    print(f"# JSON: {args.json}")


if __name__ == "__main__":
    main()
