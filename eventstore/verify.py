"""`audit verify`: recompute the tree from the stored events and name every event that was
modified, deleted, inserted or moved since it was sealed.

Three sources are compared. The signed checkpoints are the anchor (an attacker with database
access cannot sign). The sealed leaf record says which event was leaf i when it was sealed; it is
trusted only as far as its root matches the signed checkpoint. The stored events are what the
log holds now. Events are matched by identity (originator id and version), so an edit is
"modified", a vanished identity is "deleted", an unknown one before the end of the sealed log is
"inserted", and sealed events found out of their sealed order are "reordered".
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from eventstore.merkle import root_of
from eventstore.signed_note import NoteError, Verifier, parse_checkpoint
from eventstore.tlog import Leaf, TransparencyLog, stored_rows

Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class _Seen:
    """A stored event as verification needs it: its hash, not its (possibly large) state."""

    position: int
    originator_id: str
    version: int
    leaf_hash: bytes


@dataclass(frozen=True)
class Problem:
    kind: str
    """modified, deleted, inserted, reordered, record (the sealed record itself), checkpoint,
    unanchored."""
    detail: str
    position: int | None = None
    leaf_index: int | None = None
    originator_id: str | None = None
    version: int | None = None


@dataclass
class LogReport:
    log: str
    events: int = 0
    sealed: int = 0
    checkpoint_size: int | None = None
    checkpoint_root: str | None = None
    unsealed: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def tampered(self) -> bool:
        return any(p.kind != "unanchored" for p in self.problems)

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["ok"] = self.ok
        out["tampered"] = self.tampered
        return out


def verify_log(tlog: TransparencyLog, verifier: Verifier,
               progress: Progress | None = None) -> LogReport:
    report = LogReport(tlog.log)
    # Step 1: the anchor, the latest checkpoint whose signature verifies.
    anchor = None
    for cp in tlog.checkpoints():
        try:
            parsed = parse_checkpoint(cp.note, verifier)
        except NoteError as e:
            report.problems.append(Problem("checkpoint", f"checkpoint of size {cp.size}: {e}"))
            continue
        if parsed.origin != tlog.origin or parsed.size != cp.size or parsed.root != cp.root:
            report.problems.append(Problem(
                "checkpoint", f"checkpoint of size {cp.size} disagrees with its signed note"))
            continue
        anchor = parsed
    # Step 2: the stored events as they are now.
    rows: list[_Seen] = []
    for row in stored_rows(tlog.app, 0, 5000):
        rows.append(_Seen(row.position, row.originator_id, row.version, row.leaf_hash))
        if progress and len(rows) % 10000 == 0:
            progress(tlog.log, len(rows))
    if progress:
        progress(tlog.log, len(rows))
    report.events = len(rows)
    sealed = tlog.leaves()
    report.sealed = len(sealed)
    if anchor is None and rows:
        report.problems.append(Problem(
            "unanchored", "no signed checkpoint: nothing to prove the log against yet"
                          " (run `wharfinger audit checkpoint`)"))
    elif anchor is not None:
        report.checkpoint_size, report.checkpoint_root = anchor.size, anchor.root.hex()
        # Step 3: is the sealed record what was signed?
        if anchor.size > len(sealed) or root_of([x.hash for x in sealed[:anchor.size]]) \
                != anchor.root:
            report.problems.append(Problem(
                "record", f"the sealed leaf record does not match the signed checkpoint of"
                          f" size {anchor.size}: it was altered too, so events below are named"
                          " from an untrusted record"))
        # Step 4: is the log, as stored now, what was signed?
        hashes = [r.leaf_hash for r in rows[:anchor.size]]
        if len(hashes) < anchor.size or root_of(hashes) != anchor.root:
            detail = (f"the stored log does not hash to the signed root of size {anchor.size}"
                      if len(hashes) == anchor.size else
                      f"the stored log has {len(rows)} events, fewer than the {anchor.size}"
                      " the signed checkpoint covers")
            report.problems.append(Problem("checkpoint", detail))
    report.problems.extend(_differences(sealed, rows, report))
    return report


def _differences(sealed: list[Leaf], rows: list[_Seen], report: LogReport) -> list[Problem]:
    problems: list[Problem] = []
    by_id = {(r.originator_id, r.version): (i, r) for i, r in enumerate(rows)}
    sealed_ids = {(x.originator_id, x.version) for x in sealed}
    for leaf in sealed:
        found = by_id.get((leaf.originator_id, leaf.version))
        if found is None:
            problems.append(Problem(
                "deleted", f"event {leaf.originator_id} v{leaf.version}, sealed as leaf"
                           f" {leaf.index} at position {leaf.position}, is missing",
                leaf.position, leaf.index, leaf.originator_id, leaf.version))
        elif found[1].leaf_hash != leaf.hash:
            problems.append(Problem(
                "modified", f"event {leaf.originator_id} v{leaf.version} at position"
                            f" {found[1].position} (leaf {leaf.index}) differs from what was"
                            " sealed", found[1].position, leaf.index, leaf.originator_id,
                leaf.version))
    # Order: the sealed events, in stored order, must keep their sealed order.
    leaf_of = {(x.originator_id, x.version): x for x in sealed}
    in_order = [(i, leaf_of[(r.originator_id, r.version)]) for i, r in enumerate(rows)
                if (r.originator_id, r.version) in sealed_ids]
    keep = _longest_increasing([leaf.index for _, leaf in in_order])
    for n, (i, leaf) in enumerate(in_order):
        if n not in keep:
            problems.append(Problem(
                "reordered", f"event {leaf.originator_id} v{leaf.version}, sealed as leaf"
                             f" {leaf.index} at position {leaf.position}, is now at position"
                             f" {rows[i].position}, out of its sealed order",
                rows[i].position, leaf.index, leaf.originator_id, leaf.version))
    last_sealed = in_order[-1][0] if in_order else -1
    for i, row in enumerate(rows):
        if (row.originator_id, row.version) in sealed_ids:
            continue
        if i < last_sealed:
            problems.append(Problem(
                "inserted", f"event {row.originator_id} v{row.version} at position"
                            f" {row.position} was never sealed but sits among sealed events",
                row.position, None, row.originator_id, row.version))
        else:
            report.unsealed += 1
    problems.sort(key=lambda p: (p.position if p.position is not None else -1, p.kind))
    return problems


def _longest_increasing(values: list[int]) -> set[int]:
    """Indices (into `values`) of one longest strictly increasing subsequence."""
    tails: list[int] = []
    tail_at: list[int] = []
    parent = [-1] * len(values)
    for i, v in enumerate(values):
        k = bisect.bisect_left(tails, v)
        if k == len(tails):
            tails.append(v)
            tail_at.append(i)
        else:
            tails[k], tail_at[k] = v, i
        parent[i] = tail_at[k - 1] if k else -1
    keep: set[int] = set()
    i = tail_at[-1] if tail_at else -1
    while i != -1:
        keep.add(i)
        i = parent[i]
    return keep
