"""Appending facts to a grown audit trail with random ids (UUIDv4) against time-ordered ones
(UUIDv7, domain.ids), same process, same run.

    python -m bench.fact_ids [--rows 300000] [--batch 15]

Two fresh SQLite audit trails are grown to `--rows` decision records through the group commit's
write (eventstore.append, 200 per statement), one with each kind of id; then each takes commits
of `--batch` records (what one group commit holds at 32 connections), alternating, and the
median commit time is reported with the growth time. The id is the log's primary key: random
ids dirty a random index page per fact, time-ordered ones append to the last pages.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench.common import Row, print_table, row
from domain import decisions
from domain.audit_trail import AuditTrail
from domain.ids import time_ordered_id
from eventstore.append import append_rows
from eventstore.fact_rows import FactRows
from eventstore.location import StoreLocation
from eventstore.open import open_log

IdMaker = Callable[[], uuid.UUID]


def _values() -> dict[str, object]:
    return dict(client_address="10.0.0.1", forwarded_for="", user_agent="docker/27.0",
                actor="alice", subject="alice", subject_id="1",
                credential="application_token", service="registry.example.com",
                requested=["repository:team/app:pull,push"],
                granted=["repository:team/app:pull", "repository:team/app:push"],
                reasons={"repository:team/app:pull,push": {"pull": "team contributor",
                                                           "push": "team contributor"}},
                outcome="issued", refusal="", expires_at=datetime.now(UTC))


def main(rows: int = 300_000, batch: int = 15, commits: int = 400) -> list[Row]:
    values = _values()
    kinds: dict[str, IdMaker] = {"random (UUIDv4)": uuid.uuid4,
                                 "time-ordered (UUIDv7)": time_ordered_id}
    work = Path(tempfile.mkdtemp(prefix="wharfinger-bench-ids-"))
    trails, makers, grow_s = {}, {}, {}
    try:
        for name, make_id in kinds.items():
            audit = open_log(StoreLocation.from_settings(work / name[:4], None), AuditTrail,
                             "audit")
            facts = FactRows(audit, decisions.TokenRequestDecided, decisions.example())

            def records(n: int, make_id: IdMaker = make_id,
                        facts: FactRows[decisions.TokenRequestDecided] = facts) -> list:  # type: ignore[type-arg]
                out = []
                for _ in range(n):
                    fact_id = make_id()
                    out.append(facts.row(fact_id=fact_id, jti=fact_id.hex, **values))
                return out

            started = time.perf_counter()
            for _ in range(rows // 200):
                append_rows(audit, records(200))
            grow_s[name] = time.perf_counter() - started
            trails[name], makers[name] = audit, records
        times: dict[str, list[float]] = {name: [] for name in kinds}
        for _ in range(commits):
            for name, audit in trails.items():
                batch_rows = makers[name](batch)
                started = time.perf_counter()
                append_rows(audit, batch_rows)
                times[name].append(time.perf_counter() - started)
    finally:
        for audit in trails.values():
            audit.close()
        shutil.rmtree(work, ignore_errors=True)
    random_name, ordered_name = kinds
    case = f"commit of {batch} decision records at {rows:,} records, SQLite"
    return [
        row("fact ids", f"{case}, time-ordered ids", unit="ms", better="lower",
            value=statistics.median(times[ordered_name]) * 1000,
            baseline=statistics.median(times[random_name]) * 1000,
            baseline_name="random ids (UUIDv4)",
            p90_ms=round(sorted(times[ordered_name])[int(0.9 * commits)] * 1000, 2),
            random_p90_ms=round(sorted(times[random_name])[int(0.9 * commits)] * 1000, 2)),
        row("fact ids", f"writing {rows:,} decision records, 200 per statement, time-ordered ids",
            unit="s", better="lower", value=grow_s[ordered_name],
            baseline=grow_s[random_name], baseline_name="random ids (UUIDv4)"),
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--batch", type=int, default=15)
    args = parser.parse_args()
    print_table(main(rows=args.rows, batch=args.batch))
