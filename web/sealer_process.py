"""Sealing the Merkle trees in a process of its own, once a node is busy enough to notice.

Every event a node appends is sealed within a second (web.audit_tools.keep_signing): ~20 µs of
Python per event (hashing, the tree's nodes, the side-table rows). In the service that work
holds the GIL the token endpoint's event loop needs: under full token load it took ~10% of the
rate (same-run A/B, docs/benchmarks.md). So when one round of sealing in the service takes longer
than `audit.sealer_process_after_ms`, the node starts `python -m web.sealer_process`, which seals
both logs every second with a GIL of its own, and the service only signs the checkpoints (sealing
what little the sealer has not reached yet). A quiet node never starts it.

The sealer reads the store's location from its environment (the database URL is a secret: never
on its command line), and stops when its standard input closes: when the service stops it, or
dies. If it exits on its own, the service logs it and seals in-process again; it may start a
new one a minute later at the earliest. Sealing is serialised per log in the store (the tree's
lock), so the sealer, the service and other nodes never seal the same events twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import select
import sys
import time
from pathlib import Path

from web.settings import Settings

log = logging.getLogger(__name__)

SEAL_EVERY_SECONDS = 1.0
SEAL_BATCH = 500
"""Rows per sealing transaction: a round lets go of the tree's lock this often."""
RESTART_AFTER_SECONDS = 60.0
_DATA_DIR = "WHARFINGER_SEALER_DATA_DIR"
_DATABASE_URL = "WHARFINGER_SEALER_DATABASE_URL"


class SealerProcess:
    """The service's handle on its sealer process (at most one)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._process: asyncio.subprocess.Process | None = None
        self._started_at = -RESTART_AFTER_SECONDS

    @property
    def pid(self) -> int | None:
        """The running sealer's process id (None when none runs or it has exited)."""
        process = self._process
        return process.pid if process is not None and process.returncode is None else None

    def check_running(self) -> bool:
        """Whether the sealer runs. A method, not a property: it notices a sealer that has
        exited, logs that once and forgets it (the service then seals in-process again)."""
        if self._process is None:
            return False
        if self._process.returncode is not None:
            log.warning("the sealer process exited (status %s); sealing in the service again",
                        self._process.returncode)
            self._process = None
            return False
        return True

    async def start(self) -> bool:
        """Start the sealer unless one runs or one started less than a minute ago."""
        if self.check_running() or time.monotonic() - self._started_at < RESTART_AFTER_SECONDS:
            return self._process is not None
        self._started_at = time.monotonic()
        env = {name: value for name, value in os.environ.items()
               if name not in (_DATA_DIR, _DATABASE_URL)}
        env[_DATA_DIR] = str(self._settings.data_dir)
        if self._settings.database_url:
            env[_DATABASE_URL] = str(self._settings.database_url)
        try:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "web.sealer_process", stdin=asyncio.subprocess.PIPE,
                env=env)
        except OSError as e:
            log.warning("cannot start the sealer process (%s); sealing in the service", e)
            return False
        log.info("sealing the audit trees in process %d", self._process.pid)
        return True

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 5.0)
        except TimeoutError:
            process.kill()
            await process.wait()


def main() -> int:
    """The sealer: seal both logs every second until standard input closes."""
    from domain.application import Wharfinger
    from domain.audit_trail import AuditTrail
    from eventstore.location import StoreLocation
    from eventstore.open import open_log
    from eventstore.side_tables import SideTables
    from eventstore.tlog import TransparencyLog

    logging.basicConfig(level=logging.WARNING, format="wharfinger sealer: %(message)s")
    location = StoreLocation.from_settings(Path(os.environ[_DATA_DIR]),
                                           os.environ.get(_DATABASE_URL) or None)
    events = open_log(location, Wharfinger, "events")
    audit = open_log(location, AuditTrail, "audit")
    side = SideTables(location, keep_connections=1)
    # The origin only matters for signing, which stays in the service.
    trees = [TransparencyLog(side, app, name, origin="")
             for name, app in (("events", events), ("audit", audit))]
    try:
        while not _closed(sys.stdin.fileno(), SEAL_EVERY_SECONDS):
            for tree in trees:
                try:
                    tree.seal(SEAL_BATCH)
                except Exception as e:  # the store is down: the next round catches up
                    log.warning("cannot seal the %s tree: %s: %s", tree.log, type(e).__name__, e)
    finally:
        side.close()
        events.close()
        audit.close()
    return 0


def _closed(fd: int, timeout: float) -> bool:
    """Wait up to `timeout` seconds; True once `fd` is at end of file (the service is gone)."""
    readable, _, _ = select.select([fd], [], [], timeout)
    if not readable:
        return False
    with contextlib.suppress(OSError):
        return not os.read(fd, 4096)
    return True


if __name__ == "__main__":
    sys.exit(main())
