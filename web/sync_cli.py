"""`wharfinger sync`: one reconcile round against the registry, from the command line."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from domain.application import Wharfinger
from domain.errors import InvalidInputError
from eventstore.open import open_log
from web.blocking import BlockingPool
from web.registry_sync import SyncReport, reconcile_once
from web.services import EVENTS_LOG, store_location
from web.settings import Settings
from web.token.keys import load_or_create_signing_key


def register(sub: Any) -> None:
    sync = sub.add_parser(
        "sync", help="compare the registry's catalog with the log and record the drift")
    sync.add_argument("--no-delete", action="store_true",
                      help="record tags found only (strategy `update`), not tags gone")
    sync.add_argument("--json", action="store_true", help="print the report as JSON")
    sync.set_defaults(func=_sync)


def _sync(args: argparse.Namespace, settings: Settings) -> int:
    try:
        store = open_log(store_location(settings), Wharfinger, EVENTS_LOG)
    except OSError as e:
        raise InvalidInputError(f"cannot open the event store in {settings.data_dir}: {e}"
                                ) from None
    try:
        key = load_or_create_signing_key(settings.keys_dir,
                                         algorithm=str(settings["token.signing_algorithm"]),
                                         common_name=settings.issuer)
        report = asyncio.run(_run(store, key, settings, remove_missing=not args.no_delete))
    finally:
        store.close()
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
