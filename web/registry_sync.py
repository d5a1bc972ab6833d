"""Reconcile: compare the registry's catalog with the log and record the drift (portus.md §1.11).

What differs is recorded as what was observed (`TagDiscovered`, `TagNoLongerPresent`), never as a
silent rewrite. Anything Wharfinger cannot know for sure removes nothing: a failed or partial
catalog, a repository whose tag list fails or is empty (Portus's rule: it may be uploading), a
manifest that cannot be read, or a repository that changed while we looked (a notification came
in; the next round sees it). Strategies (`background.sync.strategy`): `update` records additions
only, `update-delete` additions and removals every round, `on-start` one full round at start,
`initial` one full round at start when no repository is known yet.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from domain.actors import acting_as
from domain.application import Wharfinger
from domain.registries import Registry
from web.blocking import BlockingPool
from web.registry_client import (
    RegistryClient,
    RegistryUnavailableError,
    registry_client,
    target_of,
)
from web.settings import Settings
from web.token.keys import SigningKey

log = logging.getLogger(__name__)

SYNC_ACTOR = "sync"


@dataclass
class SyncReport:
    repositories: int = 0
    changes: int = 0
    skipped: list[str] = field(default_factory=list)
    """Repositories left alone this round, with why."""
    error: str | None = None
    """Set when the catalog could not be read: nothing was recorded."""

    def as_json(self) -> dict[str, object]:
        return {"repositories": self.repositories, "changes": self.changes,
                "skipped": self.skipped, "error": self.error}


async def reconcile(store: Wharfinger, pool: BlockingPool, client: RegistryClient, *,
                    remove_missing: bool) -> SyncReport:
    report = SyncReport()
    try:
        names = sorted(set(await client.catalog()))
    except RegistryUnavailableError as e:
        report.error = f"cannot read the catalog: {e}"
        log.warning("reconcile: %s; nothing recorded", report.error)
        return report
    report.repositories = len(names)
    for name in names:
        await _reconcile_one(store, pool, client, name, report, remove_missing=remove_missing)
    if remove_missing:
        # Known here, absent from a catalog read in full: its storage is gone.
        for name in sorted(set(await pool.run(store.repository_names)) - set(names)):
            version, ours = await pool.run(store.repository_state, name)
            if ours:
                await _observe(store, pool, name, {}, version, report, remove_missing=True)
    return report


async def _reconcile_one(store: Wharfinger, pool: BlockingPool, client: RegistryClient,
                         name: str, report: SyncReport, *, remove_missing: bool) -> None:
    version, _ = await pool.run(store.repository_state, name)
    try:
        tags = await client.tags(name)
        if not tags:
            report.skipped.append(f"{name}: no tags listed")
            return
        observed: dict[str, tuple[str, str]] = {}
        for tag in tags:
            head = await client.manifest(name, tag)
            if head is not None:
                observed[tag] = (head.digest, head.media_type)
    except RegistryUnavailableError as e:
        report.skipped.append(f"{name}: {e}")
        log.warning("reconcile: skipped %s: %s", name, e)
        return
    await _observe(store, pool, name, observed, version, report, remove_missing=remove_missing)


async def _observe(store: Wharfinger, pool: BlockingPool, name: str,
                   observed: dict[str, tuple[str, str]], version: int, report: SyncReport, *,
                   remove_missing: bool) -> None:
    def command() -> int | None:
        with acting_as(SYNC_ACTOR):
            return store.observe_repository(name, observed, expected_version=version,
                                            remove_missing=remove_missing)

    changes = await pool.run(command)
    if changes is None:
        report.skipped.append(f"{name}: changed while it was read; next round")
    else:
        report.changes += changes


async def reconcile_once(store: Wharfinger, pool: BlockingPool, signing_key: SigningKey,
                         settings: Settings, *, remove_missing: bool) -> SyncReport:
    registry: Registry | None = await pool.run(store.get_registry)
    if registry is None:
        return SyncReport(error="no registry is registered")
    target = target_of(registry.hostname, registry.use_ssl)
    async with registry_client(target, signing_key, settings) as client:
        return await reconcile(store, pool, client, remove_missing=remove_missing)


async def background_sync(store: Wharfinger, pool: BlockingPool, signing_key: SigningKey,
                          settings: Settings, on_change: Callable[[], None] | None = None
                          ) -> None:
    """The `background.sync.*` job; runs until cancelled."""
    if not settings["background.sync.enabled"]:
        return
    strategy = str(settings["background.sync.strategy"])
    interval = float(settings["background.sync.interval_seconds"])
    while strategy == "initial":
        # Sync only a log that knows no repository yet; a store that cannot say so now (an
        # outage) is asked again, rather than ending the job with its error.
        try:
            if await pool.run(store.repository_names):
                return
            strategy = "on-start"
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("reconcile: cannot read the repositories; trying again")
            await asyncio.sleep(interval)
    while True:
        try:
            report = await reconcile_once(store, pool, signing_key, settings,
                                          remove_missing=strategy != "update")
            if report.changes:
                log.info("reconcile: recorded %d change(s)", report.changes)
                if on_change is not None:
                    on_change()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("reconcile failed; nothing was removed")
        if strategy == "on-start":
            return
        await asyncio.sleep(interval)
