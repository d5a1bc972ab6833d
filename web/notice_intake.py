"""Registry notifications recorded by group commit: concurrent envelopes share transactions.

A busy registry (or several, or several endpoints' queues) posts many envelopes at once, and the
registry waits for each answer. Recording each event in a transaction of its own caps intake at
the store's commit rate; here every envelope's pushes and deletes join one transaction of the
change log, and its pulls and mounts one of the audit trail, together with whatever other
envelopes arrived meanwhile (web.group_commit). Each envelope is answered once its own events
are durable; a redelivered event is recorded once (by its receipt in the change log, by its id
in the audit trail).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent

from domain.application import Wharfinger
from domain.audit_trail import AuditTrail
from domain.facts import Fact
from domain.notifications import RegistryNotice
from domain.repositories import audit_fact
from eventstore.load_many import load_many, reads_at_once
from web.blocking import BlockingPool
from web.group_commit import GroupCommit

CHANGES = frozenset({"push", "delete"})
"""Actions that change repositories (the change log); pulls and mounts are audit facts."""

Outcome = tuple[str, Fact | None]
"""`recorded`, `duplicate` or `ignored`, and the audit fact recorded (for in-memory models)."""


@dataclass
class _Part:
    """One envelope's share of a group commit: its notices in, their outcomes out."""

    notices: list[RegistryNotice]
    facts: list[Fact] = field(default_factory=list)
    stored: list[StoredEvent] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)
    position: int = 0
    error: Exception | None = None
    """Set when this envelope alone failed (the others in its transaction were recorded)."""


class NoticeIntake:
    def __init__(self, pool: BlockingPool, store: Wharfinger, audit: AuditTrail, *,
                 record_pulls: bool, known: Callable[[str], bool] = lambda name: True) -> None:
        """`known(full_name)`: whether this node's read model has the repository (a hint
        that lets a push create a new one without looking it up first)."""
        self._store = store
        self._known = known
        self._audit = audit
        self._record_pulls = record_pulls
        self._bulk = reads_at_once(store)
        """PostgreSQL: a batch's aggregates are read in one statement before it is applied."""
        self._changes: GroupCommit[_Part, _Part] = GroupCommit(pool, _same, self._write_changes)
        self._facts: GroupCommit[_Part, _Part] = GroupCommit(pool, self._encode, self._write_facts)

    async def record(self, notices: Sequence[RegistryNotice]) -> tuple[list[Outcome], int]:
        """Each notice's outcome, once all are durable, and the change log's position to wait
        for (0 if the envelope changed nothing there). Raises if anything could not be
        recorded: the caller answers 503 and the registry retries the envelope."""
        outcomes: list[Outcome] = [("ignored", None)] * len(notices)
        changes = _Part([n for n in notices if n.action in CHANGES])
        facts = _Part([n for n in notices if self._is_fact(n)])
        parts = [(p, commit) for p, commit in ((changes, self._changes), (facts, self._facts))
                 if p.notices]
        await asyncio.gather(*(commit.record(p) for p, commit in parts))
        for part, _ in parts:
            if part.error is not None:
                raise part.error
        where = {id(n): i for i, n in enumerate(notices)}
        for notice, outcome in zip(changes.notices, changes.outcomes, strict=True):
            outcomes[where[id(notice)]] = (outcome, None)
        for notice, fact, outcome in zip(facts.notices, facts.facts, facts.outcomes,
                                         strict=True):
            outcomes[where[id(notice)]] = (outcome, fact if outcome == "recorded" else None)
        return outcomes, changes.position

    def _is_fact(self, notice: RegistryNotice) -> bool:
        if notice.action == "pull":
            return self._record_pulls and notice.is_manifest
        return notice.action == "mount"

    # -- the change log: pushes and deletes -------------------------------------------------------

    def _write_changes(self, parts: Sequence[_Part]) -> None:
        """Blocking: every part's notices in one transaction; if that fails, each part alone,
        so one envelope the store refuses cannot fail the others with it."""
        try:
            self._record_changes(parts)
        except Exception:
            if len(parts) == 1:
                raise
            for part in parts:
                try:
                    self._record_changes([part])
                except Exception as e:
                    part.error = e

    def _record_changes(self, parts: Sequence[_Part]) -> None:
        notices = [n for part in parts for n in part.notices]
        outcomes, position = self._store.run_command(
            lambda: self._store.record_notices(notices, unknown=self._unknown,
                                               load=self._load if self._bulk else None))
        start = 0
        for part in parts:
            part.outcomes = outcomes[start:start + len(part.notices)]
            part.position = position
            start += len(part.notices)

    def _load(self, ids: Sequence[UUID]) -> dict[UUID, Aggregate | None]:
        # One read for the whole batch (on PostgreSQL each read is two round trips, and the
        # batch's reads one after another had taken as long as its insert). Not on SQLite:
        # there reads are local, and reading one by one reads only what the notices need.
        return load_many(self._store, ids)

    def _unknown(self, full_name: str) -> bool:
        return not self._known(full_name)

    # -- the audit trail: pulls and mounts --------------------------------------------------------

    def _encode(self, part: _Part) -> _Part:
        """On the event loop: the facts and their rows (cheap CPU, off the writer thread)."""
        for notice in part.notices:
            fact = audit_fact(notice)
            assert fact is not None  # _is_fact admits only manifest pulls and mounts
            part.facts.append(fact)
            part.stored.append(self._audit.encode(fact))
        return part

    def _write_facts(self, parts: Sequence[_Part]) -> None:
        new, _ = self._audit.record_new([s for part in parts for s in part.stored])
        start = 0
        for part in parts:
            part.outcomes = ["recorded" if appended else "duplicate"
                             for appended in new[start:start + len(part.stored)]]
            start += len(part.stored)


def _same(part: _Part) -> _Part:
    return part
