"""The audit side of the composition root: fold checkpoints for time travel and the
tamper-evident trees over both logs, kept current by background tasks."""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass, field
from uuid import UUID

from eventsourcing.application import Application

from domain.errors import InvalidInputError
from eventstore.location import StoreLocation
from eventstore.reader import read_after
from eventstore.side_tables import SideTables
from eventstore.signed_note import Signer
from eventstore.tlog import TransparencyLog
from projections.checkpoints import FoldCheckpoints, ReadAfter
from projections.jti_index import JtiIndex
from web.blocking import BlockingPool
from web.checkpoint_key import origin
from web.sealer_process import SEAL_BATCH, SEAL_EVERY_SECONDS, SealerProcess

log = logging.getLogger(__name__)


@dataclass
class AuditTools:
    side: SideTables
    checkpoints: FoldCheckpoints
    read_events: ReadAfter
    """Blocking readers of the change log and of the audit trail."""
    read_audit: ReadAfter
    tlogs: dict[str, TransparencyLog]
    """The Merkle tree of each log, by log name (`events`, `audit`)."""
    signer: Signer
    tokens: JtiIndex
    """Decision records by the `jti` of their token (projections.jti_index)."""
    sealer: SealerProcess | None = None
    """Takes sealing out of this process once it is busy (web.sealer_process)."""
    _catching_up: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def catch_up(self, pool: BlockingPool) -> None:
        # The jti index is not kept here: a token issued now is found by its id, and reading
        # every decision record to index the few that need it cost the token endpoint (it
        # took the GIL for ~10k records every round under load); a lookup that the id does
        # not answer catches the index up itself (projections.jti_index).
        async with self._catching_up:
            await pool.run(self.checkpoints.catch_up)

    async def keep_current(self, pool: BlockingPool, interval: float) -> None:
        """Write fold checkpoints as the change log grows, until cancelled. The first round
        waits an interval: start-up is busy enough, and a query never needs them to be
        current (time travel replays more)."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.catch_up(pool)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # the store is down: time travel just replays more
                log.warning("cannot write fold checkpoints: %s: %s",
                            type(e).__name__, e)

    def tlog(self, name: str) -> TransparencyLog:
        found = self.tlogs.get(name)
        if found is None:
            raise InvalidInputError(f"unknown log '{name}' (one of: {', '.join(self.tlogs)})",
                                    field="log")
        return found

    def make_checkpoints(self, until: float | None = None) -> None:
        """Seal and sign every log (blocking); with `until` (a `time.monotonic()` deadline),
        seal what can be sealed by then."""
        for tlog in self.tlogs.values():
            tlog.make_checkpoint(self.signer, until=until)

    def seal(self) -> None:
        """Add what was appended since the last round to each tree (blocking)."""
        for tlog in self.tlogs.values():
            tlog.seal(SEAL_BATCH)

    async def keep_signing(self, pool: BlockingPool, interval: float, *,
                           offload_after: float = 0.05) -> None:
        """Sign a checkpoint of each log every `interval` seconds, until cancelled, and seal
        new events into the trees every second in between. Sealing costs ~20 µs of Python per
        event: left to each signing, a busy node (a million decision records in five minutes)
        would hold the GIL for half a minute at a time, and the token endpoint's latency
        with it; a second's worth at a time is a steady few percent instead. Once a round
        takes longer than `offload_after` seconds, `self.sealer` (web.sealer_process) takes
        the sealing out of this process's GIL."""
        sealer = self.sealer
        loop = asyncio.get_running_loop()
        signing_at = loop.time() + interval
        try:
            while True:
                await asyncio.sleep(max(0.0, min(SEAL_EVERY_SECONDS, signing_at - loop.time())))
                signing = loop.time() >= signing_at
                try:
                    if signing:
                        signing_at = loop.time() + interval
                        await pool.run(self.make_checkpoints)
                    elif sealer is None or not sealer.check_running():
                        started = loop.time()
                        await pool.run(self.seal)
                        if sealer is not None and loop.time() - started > offload_after:
                            await sealer.start()
                except asyncio.CancelledError:
                    raise
                except Exception as e:  # the store is down: the next round catches up
                    what = "sign audit checkpoints" if signing else "seal the audit trees"
                    log.warning("cannot %s: %s: %s", what, type(e).__name__, e)
        finally:
            if sealer is not None:
                await sealer.stop()


def audit_tools(location: StoreLocation, events: Application[UUID], audit: Application[UUID],
                *, every: int, signer: Signer, issuer: str, fold_key: bytes,
                keep_connections: int = 0) -> AuditTools:
    """The audit tools over both logs; a running node keeps a few side-table connections
    (`keep_connections`, closed with `tools.side.close()`)."""
    side = SideTables(location, keep_connections=keep_connections)
    read_events: ReadAfter = functools.partial(read_after, events)
    read_audit: ReadAfter = functools.partial(read_after, audit)
    tlogs = {name: TransparencyLog(side, app, name, origin(issuer, name))
             for name, app in (("events", events), ("audit", audit))}
    # Catching up follows the log as the node's follower does: the rows this node just
    # appended come from memory (eventstore.pg_insert.RecentRows).
    checkpoints = FoldCheckpoints(side, read_events, key=fold_key, every=every,
                                  follow=functools.partial(read_after, events, follower=True))
    return AuditTools(side, checkpoints, read_events, read_audit, tlogs, signer,
                      JtiIndex(side, audit))
