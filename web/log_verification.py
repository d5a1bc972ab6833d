"""Verify the logs and record the outcome (domain.verifications): the CLI's `audit verify` and the
console's "verify now" run this, so both leave the same fact behind. In a server, the
`VerificationGate` lets one verification run at a time; a second request waits for its outcome."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from domain.verifications import LogsVerified
from eventstore.verify import LogReport, Progress, verify_log
from web.audit_tools import AuditTools

LOGS = ("events", "audit")
MAX_DETAILS = 5


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
    and its outcome once recorded (a future that never fails to complete: see `carry_out`)."""

    actor: str
    started_at: datetime
    outcome: Future[LogsVerified] = field(default_factory=Future)
    waiting: int = 0


class VerificationGate:
    """At most one verification at a time in this process.

    Verifying reads both logs end to end and holds a pool thread for as long as that takes; a
    second click (or a second auditor) joins the run under way instead of starting another and
    is told who started it and when, then shown the same outcome.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: RunningVerification | None = None

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

    def carry_out(self, run: RunningVerification, tools: AuditTools,
                  logs: Iterable[str] = LOGS) -> LogsVerified:
        """Verify and record (blocking), hand the outcome to every waiter, then let the next
        verification start."""
        try:
            _, fact = verify_and_record(tools, actor=run.actor, logs=logs)
        except BaseException as e:
            self._finish(run)
            run.outcome.set_exception(e)
            raise
        self._finish(run)
        run.outcome.set_result(fact)
        return fact

    def _finish(self, run: RunningVerification) -> None:
        with self._lock:
            if self._running is run:
                self._running = None
