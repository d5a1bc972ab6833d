"""Verify the logs and record the outcome (domain.verifications): the CLI's `audit verify` and the
console's "verify now" run this, so both leave the same fact behind."""

from __future__ import annotations

from collections.abc import Iterable
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
