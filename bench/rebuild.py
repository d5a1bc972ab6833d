"""Permission projection rebuild rate over a generated history, against raw read+decode.

The baseline reads the same events in the same batches through the same reader and decodes
them, and does nothing else; the subject is the real rebuild a starting node performs
(`LogFollower.catch_up` through the blocking pool, folding into a fresh `PermissionIndex`).
Their ratio is the share of the read path the fold itself costs (target ≥ 0.5).
"""

from __future__ import annotations

import asyncio
import time

from bench.common import Row, median, row
from bench.history import World, write_history
from bench.stores import location
from domain.application import Wharfinger
from eventstore.open import open_log
from eventstore.reader import LoggedEvent, read_after
from projections.follower import LogFollower
from projections.permissions import PermissionIndex
from web.blocking import BlockingPool

BATCH = 1000


def raw_read(app: Wharfinger) -> int:
    position, count = 0, 0
    while True:
        batch = read_after(app, position, BATCH)
        count += len(batch)
        if len(batch) < BATCH:
            return count
        position = batch[-1].position


async def rebuild(app: Wharfinger) -> tuple[int, PermissionIndex]:
    pool = BlockingPool(max_workers=2)
    index = PermissionIndex()

    async def read(position: int, limit: int) -> list[LoggedEvent]:
        return await pool.run(read_after, app, position, limit)

    follower = LogFollower(read, index.apply, poll_interval=1, max_staleness=60,
                           batch_size=BATCH)
    try:
        return await follower.catch_up(), index
    finally:
        pool.shutdown()


def main(events: int = 1_000_000, runs: int = 3,
         backends: tuple[str, ...] = ("sqlite", "postgresql")) -> list[Row]:
    rows: list[Row] = []
    world = World.of_size(events)
    for backend in backends:
        with location(backend) as where:
            app = open_log(where, Wharfinger, "events")
            try:
                started = time.perf_counter()
                written = write_history(app, world)
                write_s = time.perf_counter() - started
                raw_rates, fold_rates = [], []
                for _ in range(runs):
                    started = time.perf_counter()
                    count = raw_read(app)
                    raw_rates.append(count / (time.perf_counter() - started))
                    started = time.perf_counter()
                    folded, index = asyncio.run(rebuild(app))
                    fold_rates.append(folded / (time.perf_counter() - started))
                    assert folded == count == written, (folded, count, written)
                    assert len(index.users) == world.users
                rows.append(row("projection rebuild", f"permissions, {written:,} events,"
                                f" {backend}", value=median(fold_rates), unit="events/s",
                                baseline=median(raw_rates), baseline_name="raw read+decode",
                                target="ratio >= 0.5",
                                generate_events_per_s=round(written / write_s)))
            finally:
                app.close()
    return rows
