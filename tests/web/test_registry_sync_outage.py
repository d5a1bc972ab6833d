"""The background reconcile job outlives a store outage at start (it used to end with the
store's error, never to sync again, and raise it when the node stopped)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from domain.application import Wharfinger
from eventstore.open import open_log
from tests.conftest import make_settings
from tests.web.outage import event_log_hidden
from web.blocking import BlockingPool
from web.registry_sync import background_sync
from web.services import EVENTS_LOG, signing_key_of, store_location


async def test_an_outage_at_start_is_waited_out(tmp_path: Path, database_url: str | None) -> None:
    settings = make_settings(tmp_path / "data", database_url,
                             WHARFINGER_BACKGROUND_SYNC_INTERVAL_SECONDS="1")
    store = open_log(store_location(settings), Wharfinger, EVENTS_LOG)
    pool = BlockingPool(max_workers=2)
    try:
        with event_log_hidden(settings):
            job = asyncio.create_task(background_sync(store, pool, signing_key_of(settings),
                                                      settings))
            await asyncio.sleep(0.5)
            assert not job.done(), "the job ended during the outage"
        # The store answers again: no repository known and no registry, so the job's one
        # reconcile round reports that and the job ends without an error.
        await asyncio.wait_for(job, 10)
    finally:
        await asyncio.to_thread(pool.shutdown)
        store.close()
