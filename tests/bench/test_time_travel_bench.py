"""The time-travel benchmark's checkpointer, a second process following the log while the
history is built, writes every checkpoint the build calls for, and the fold at the head read from
them (the benchmark's live index) is the full fold of the log."""

from __future__ import annotations

import random
from pathlib import Path

from bench.time_travel import build_with_checkpointer, checkpoints_of
from domain.application import Wharfinger
from eventstore.location import StoreLocation
from eventstore.open import open_log
from eventstore.reader import head_position, read_after
from projections.permissions import PermissionIndex


def test_checkpointer_process_folds_everything_the_build_wrote(
        tmp_path: Path, database_url: str | None) -> None:
    location = StoreLocation.from_settings(tmp_path, database_url)
    store = open_log(location, Wharfinger, "events")
    try:
        build_with_checkpointer(location, store, 4_500, random.Random(5))
        head = head_position(store)
        events = read_after(store, 0, head + 1)
        assert len(events) >= 4_500
        checkpoints = checkpoints_of(location, store)
        latest = checkpoints.latest()
        assert latest is not None
        assert latest[0].folded == len(events) // 1000 * 1000
        full = PermissionIndex()
        for logged in events:
            full.apply(logged)
        assert checkpoints.state_at_position(head).index == full
    finally:
        store.close()
