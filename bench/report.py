"""Render a `python -m bench` JSON file as the Markdown table in docs/benchmarks.md.

    python -m bench.report [bench/results/latest.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.common import ROOT

EXTRAS = ("p50_ms", "p99_ms", "half_rate", "half_rate_p50_ms", "half_rate_p99_ms",
          "bare_half_rate_p99_ms", "bare_req_per_s", "generate_events_per_s", "live_index_ms",
          "max_ms", "process_rss_before_mib")


def markdown(data: dict[str, object]) -> str:
    m = data["machine"]
    assert isinstance(m, dict)
    rows = data["rows"]
    assert isinstance(rows, list)
    out = [f"Run {m['date']} on {m['host']}: {m['nproc']} × {m['cpu']}, Python {m['python']},"
           f" load average at start {m['load_average']}.", "",
           "| benchmark | case | median | baseline (same run) | ratio | target | more |",
           "|---|---|---:|---|---:|---|---|"]
    for r in rows:
        base = ("" if r.get("baseline") is None
                else f"{r['baseline']} {r['unit']} ({r['baseline_name']})")
        more = ", ".join(f"{k}={r[k]}" for k in EXTRAS if r.get(k) is not None)
        out.append(f"| {r['benchmark']} | {r['case']} | {r['value']} {r['unit']} | {base} |"
                   f" {'' if r.get('ratio') is None else r['ratio']} | {r.get('target', '')} |"
                   f" {more} |")
    return "\n".join(out)


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "bench" / "results" / "latest.json"
    print(markdown(json.loads(path.read_text())))
