"""A verification of the logs' tamper evidence, recorded as a fact in the audit trail.

`wharfinger audit verify` (and an auditor's "verify now" in the console) recompute the Merkle
trees from the stored events and compare them with the signed checkpoints. The outcome is worth
keeping: an auditor asks when the logs were last proven intact, and by whom.
"""

from __future__ import annotations

from typing import Any

from domain.facts import Fact


class LogsVerified(Fact):
    """`ok` when every log matched its latest signed checkpoint; `tampered` when a problem other
    than "no checkpoint yet" was found. `logs` has one summary per log verified: log, events,
    sealed, checkpoint_size, checkpoint_root (hex), unsealed, ok, problems (how many) and
    details (the first few problems' text)."""

    ok: bool
    tampered: bool
    logs: list[dict[str, Any]]
    verifier_key: str
