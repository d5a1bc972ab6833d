"""Verify the logs and record the outcome (domain.verifications): the CLI's `audit verify` and the
console's "verify now" run this, so both leave the same fact behind. One verification runs at a
time over a store, whichever process or node starts it (a lock in the store); in a server, the
`VerificationGate` has a second request wait for the run under way and show its outcome."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from domain.verifications import LogsVerified
from eventstore.location import StoreLocation
from eventstore.store_lock import Held, Note, StoreLock
from eventstore.verify import LogReport, Progress, verify_log
from web.audit_tools import AuditTools
from web.blocking import BlockingPool

LOGS = ("events", "audit")
MAX_DETAILS = 5
LOCK_NAME = "verification"
POLL_SECONDS = 0.25


def summary(report: LogReport) -> dict[str, Any]:
    return {"log": report.log, "events": report.events, "sealed": report.sealed,
            "checkpoint_size": report.checkpoint_size,
            "checkpoint_root": report.checkpoint_root, "unsealed": report.unsealed,
            "ok": report.ok, "problems": len(report.problems),
            "details": [p.detail for p in report.problems[:MAX_DETAILS]]}


def verify_and_record(tools: AuditTools, *, actor: str, logs: Iterable[str] = LOGS,
                      progress: Progress | None = None) -> tuple[list[LogReport], LogsVerified]:
    """Verify each log (blocking), then append the outcome to the audit trail."""
    reports = [verify_log(tools.tlog(name), tools.signer.verifier, progress) for name in logs]
    fact = LogsVerified.new(actor=actor, ok=all(r.ok for r in reports),
                            tampered=any(r.tampered for r in reports),
                            logs=[summary(r) for r in reports],
                            verifier_key=tools.signer.verifier.encode())
    tools.tlog("audit").app.save(fact)
    return reports, fact


@dataclass
class RunningVerification:
    """A verification under way: who started it and when, how many later requests wait for it,
    and its outcome once recorded (a future that never fails to complete: see `carry_out`).
    `elsewhere` is set when the run found another process or node verifying the same store and
    waited for that one instead: who started it and when."""

    actor: str
    started_at: datetime
    outcome: Future[LogsVerified] = field(default_factory=Future)
    waiting: int = 0
    elsewhere: tuple[str, datetime] | None = None


def verification_lock(location: StoreLocation) -> StoreLock:
    """The store-wide lock every verification holds (the console's and `audit verify`'s)."""
    return StoreLock(location, LOCK_NAME)


def note_of(actor: str, started_at: datetime, run_id: str) -> Note:
    return {"actor": actor, "started_at": started_at.isoformat(), "run": run_id,
            "host": socket.gethostname(), "pid": os.getpid()}


def who(note: Note, default: tuple[str, datetime]) -> tuple[str, datetime]:
    """Who started the run a holder's note describes and when (a note not written yet, or
    unreadable: `default`)."""
    try:
        return str(note["actor"]), datetime.fromisoformat(str(note["started_at"]))
    except (KeyError, ValueError):
        return default


def hold_waiting(lock: StoreLock, note: Note,
                 tell: Callable[[tuple[str, datetime]], None]) -> Held:
    """Hold the lock, waiting (blocking) while another verification holds it; `tell` hears
    once who that is."""
    told = False
    while True:
        held = lock.try_hold(note)
        if held is not None:
            return held
        holder = lock.holder()
        if holder is not None and not told:
            tell(who(holder, ("someone", datetime.now(UTC))))
            told = True
        time.sleep(POLL_SECONDS if holder is not None else 0.01)


def verify_holding(held: Held, run_id: str, tools: AuditTools, *, actor: str,
                   logs: Iterable[str] = LOGS, progress: Progress | None = None
                   ) -> tuple[list[LogReport], LogsVerified]:
    """`verify_and_record` while holding the lock, then let go of it, leaving the outcome's
    id for whoever waited (blocking; in one call, so the lock is held until the very end even
    if the caller stops waiting)."""
    try:
        reports, fact = verify_and_record(tools, actor=actor, logs=logs, progress=progress)
    except BaseException:
        held.release()
        raise
    held.release({"run": run_id, "fact": str(fact.originator_id)})
    return reports, fact


def recorded_verification(tools: AuditTools, fact_id: str) -> LogsVerified | None:
    """The verification fact of that id in the audit trail (None if not there)."""
    app = tools.tlog("audit").app
    try:
        stored = app.recorder.select_events(UUID(fact_id), limit=1)
    except ValueError:
        return None
    if not stored:
        return None
    fact = app.mapper.to_domain_event(stored[0])
    return fact if isinstance(fact, LogsVerified) else None


class VerificationGate:
    """At most one verification at a time over a store, across its processes and nodes.

    Verifying reads both logs end to end and holds a pool thread for as long as that takes; a
    second click (or a second auditor) on this server joins the run under way instead of
    starting another and is told who started it and when, then shown the same outcome. A run
    under way in another process or node (another server's "verify now", `wharfinger audit
    verify`) holds the store's lock (eventstore.store_lock): this server's run then waits for
    it, polling without holding a pool thread, says who started it, and shows its outcome.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: RunningVerification | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def running(self) -> RunningVerification | None:
        return self._running

    def start_or_join(self, actor: str) -> tuple[RunningVerification, bool]:
        """The run to wait for, and True when the caller started it (and must `carry_out` it)."""
        with self._lock:
            if self._running is not None:
                self._running.waiting += 1
                return self._running, False
            run = RunningVerification(actor=actor, started_at=datetime.now(UTC))
            # Running from the start, so a waiter that gives up cannot cancel it for the others.
            run.outcome.set_running_or_notify_cancel()
            self._running = run
            return run, True

    def carry_out(self, run: RunningVerification, pool: BlockingPool, tools: AuditTools,
                  logs: Iterable[str] = LOGS) -> None:
        """Verify and record in the background (or wait for another process's run), hand the
        outcome to every waiter through `run.outcome`, then let the next verification start.
        A task of its own, so a request that goes away cancels nobody's run."""
        task = asyncio.ensure_future(self._carry_out(run, pool, tools, tuple(logs)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _carry_out(self, run: RunningVerification, pool: BlockingPool,
                         tools: AuditTools, logs: tuple[str, ...]) -> None:
        try:
            fact = await self._verify_when_free(run, pool, tools, logs)
        except BaseException as e:
            self._finish(run)
            run.outcome.set_exception(e)
            if not isinstance(e, Exception):
                raise
            return
        self._finish(run)
        run.outcome.set_result(fact)

    async def _verify_when_free(self, run: RunningVerification, pool: BlockingPool,
                                tools: AuditTools, logs: tuple[str, ...]) -> LogsVerified:
        lock = verification_lock(tools.side.location)
        run_id = str(uuid4())
        while True:
            held = await pool.run(lock.try_hold, note_of(run.actor, run.started_at, run_id))
            if held is not None:
                _, fact = await pool.run(verify_holding, held, run_id, tools,
                                         actor=run.actor, logs=logs)
                return fact
            holder = await pool.run(lock.holder)
            if holder is None:  # freed meanwhile (or a moment's probe of it): try again
                await asyncio.sleep(0.01)
                continue
            run.elsewhere = who(holder, (run.actor, run.started_at))
            theirs = holder.get("run")
            while holder is not None and holder.get("run") in (theirs, None):
                await asyncio.sleep(POLL_SECONDS)
                holder = await pool.run(lock.holder)
            last = await pool.run(lock.last)
            if theirs is not None and last is not None and last.get("run") == theirs:
                theirs_fact = await pool.run(recorded_verification, tools,
                                             str(last.get("fact")))
                if theirs_fact is not None:
                    return theirs_fact
            # That run failed or vanished without an outcome: verify here after all.
            run.elsewhere = None

    async def stop(self) -> None:
        """Stop waiting (a stopping server); a verification already reading the logs in the
        pool finishes there and lets go of the lock."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _finish(self, run: RunningVerification) -> None:
        with self._lock:
            if self._running is run:
                self._running = None
