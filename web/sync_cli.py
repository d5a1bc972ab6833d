"""`wharfinger sync`: one reconcile round against the registry, from the command line."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from domain.application import Wharfinger
from domain.errors import InvalidInputError
from web.blocking import BlockingPool
from web.registry_sync import SyncReport, reconcile_once
from web.services import opened_event_log, signing_key_of
from web.settings import Settings


def register(sub: Any) -> None:
    sync = sub.add_parser(
        "sync", help="compare the registry's catalog with the log and record the drift")
    sync.add_argument("--no-delete", action="store_true",
                      help="record tags found only (strategy `update`), not tags gone")
    sync.add_argument("--json", action="store_true", help="print the report as JSON")
    sync.set_defaults(func=_sync)


def _sync(args: argparse.Namespace, settings: Settings) -> int:
    with opened_event_log(settings) as store:
        report = asyncio.run(_run(store, signing_key_of(settings), settings,
                                  remove_missing=not args.no_delete))
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        print(f"{report.repositories} repositories in the catalog, "
              f"{report.changes} change(s) recorded")
        for skipped in report.skipped:
            print(f"  skipped {skipped}")
    if report.error:
        raise InvalidInputError(report.error)
    return 0


async def _run(store: Wharfinger, key: Any, settings: Settings, *,
               remove_missing: bool) -> SyncReport:
    pool = BlockingPool(max_workers=2)
    try:
        return await reconcile_once(store, pool, key, settings, remove_missing=remove_missing)
    finally:
        await asyncio.to_thread(pool.shutdown)
