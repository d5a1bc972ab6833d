"""The tamper-evident log: an RFC 9162 Merkle tree over each ordered event log, sealed in side
tables, with signed checkpoints and proofs.

Leaf i is the i-th stored event in log order (notification id), hashed over its canonical bytes:
the stored row exactly as the store keeps it, so verifying needs no keys and survives a change of
transcoding (eventsourcing-notes.md §6):

    u32 len ‖ originator id (canonical UUID text) ‖ u64 originator version ‖
    u32 len ‖ topic (UTF-8) ‖ u32 len ‖ state (the stored bytes)

(big-endian lengths). The position itself is not hashed: order is bound by the leaf index, and
an event moved to another position keeps its hash, so a verifier can say it moved rather than
that two unrelated events changed.

The sealer appends leaves and the hashes of every completed perfect subtree (`tlog_nodes`), so a
proof needs O(log² n) lookups, never a pass over the log. Checkpoints are signed C2SP notes kept
in `tlog_checkpoints`; the copies auditors keep are what makes them evidence.
"""

from __future__ import annotations

import hashlib
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from eventstore.merkle import (
    EMPTY_ROOT,
    LEAF_PREFIX,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
)
from eventstore.raw_rows import RawRow, raw_rows_after
from eventstore.side_tables import Cursor, SideTables
from eventstore.signed_note import Checkpoint, Signer

DDL = (
    "CREATE TABLE IF NOT EXISTS {t:tlog_leaves} (log TEXT NOT NULL, idx INTEGER NOT NULL,"
    " position INTEGER NOT NULL, originator_id TEXT NOT NULL, version INTEGER NOT NULL,"
    " hash BLOB NOT NULL, PRIMARY KEY (log, idx))",
    "CREATE TABLE IF NOT EXISTS {t:tlog_nodes} (log TEXT NOT NULL, level INTEGER NOT NULL,"
    " idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (log, level, idx))",
    "CREATE TABLE IF NOT EXISTS {t:tlog_checkpoints} (log TEXT NOT NULL, size INTEGER NOT NULL,"
    " root BLOB NOT NULL, note TEXT NOT NULL, created INTEGER NOT NULL,"
    " PRIMARY KEY (log, size))",
)


_U32 = struct.Struct(">I").pack
_U64 = struct.Struct(">Q").pack


def _canonical_parts(oid: bytes, version: int, topic: bytes, state: bytes
                     ) -> tuple[bytes, ...]:
    """The leaf's data, in pieces: each length-prefixed field of the stored event."""
    return (_U32(len(oid)), oid, _U64(version), _U32(len(topic)), topic, _U32(len(state)), state)


def canonical_bytes(originator_id: UUID | str, version: int, topic: str, state: bytes) -> bytes:
    return b"".join(_canonical_parts(str(originator_id).encode(), version, topic.encode(), state))


def row_leaf_hash(originator_id: str, version: int, topic: str, state: bytes) -> bytes:
    """`leaf_hash(canonical_bytes(…))` in one pass: sealing hashes every event of the log."""
    return hashlib.sha256(b"".join((LEAF_PREFIX, *_canonical_parts(
        originator_id.encode(), version, topic.encode(), state)))).digest()


@dataclass(frozen=True)
class Leaf:
    index: int
    position: int
    originator_id: str
    version: int
    hash: bytes


@dataclass(frozen=True)
class StoredRow:
    position: int
    originator_id: str
    version: int
    topic: str
    state: bytes

    @property
    def leaf_hash(self) -> bytes:
        return leaf_hash(canonical_bytes(self.originator_id, self.version, self.topic,
                                         self.state))


@dataclass(frozen=True)
class SignedCheckpoint:
    size: int
    root: bytes
    note: str
    created: int


def stored_rows(app: Application[UUID], after: int = 0, batch: int = 1000) -> Iterator[StoredRow]:
    """Every stored event after log position `after`, raw, in log order. Blocking."""
    position = after
    while True:
        page = raw_rows_after(app, position, batch)
        for row in page:
            yield StoredRow(*row)
        if len(page) < batch:
            return
        position = page[-1][0]


class TransparencyLog:
    """The Merkle tree over one event log, stored in side tables."""

    def __init__(self, side: SideTables, app: Application[UUID], log: str, origin: str) -> None:
        self.side = side
        self.app = app
        self.log = log
        self.origin = origin
        self._created = False

    def _tables(self) -> None:
        if not self._created:
            self.side.create(DDL)
            self._created = True

    def _q(self, statement: str) -> str:
        return self.side.render(statement)

    # -- sealing ------------------------------------------------------------------------------

    def seal(self, batch: int = 2000, *, until: float | None = None) -> int:
        """Append every event not yet in the tree; returns the tree size. With `until` (a
        `time.monotonic()` deadline), stop after the batch that passes it: what is sealed by
        then is a prefix of the log like any other."""
        self._tables()
        while True:
            if until is not None and time.monotonic() > until:
                return self.size()
            with self.side.transaction() as cur:
                self._lock(cur)
                size, last_position = self._head(cur)
                rows = raw_rows_after(self.app, last_position, batch)
                if not rows:
                    return size
                self._append(cur, size, rows)
            if len(rows) < batch:
                return size + len(rows)

    def _lock(self, cur: Cursor) -> None:
        # One sealer at a time per log, across nodes (SQLite: BEGIN IMMEDIATE already is).
        if self.side.backend == "postgresql":
            name = f"tlog:{self.side.table('tlog_leaves')}:{self.log}"  # schema-qualified
            key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
            cur.execute("SELECT pg_advisory_xact_lock(?)", (key,))

    def _head(self, cur: Cursor) -> tuple[int, int]:
        cur.execute(self._q("SELECT idx, position FROM {t:tlog_leaves} WHERE log = ?"
                            " ORDER BY idx DESC LIMIT 1"), (self.log,))
        row = cur.fetchone()
        return (0, 0) if row is None else (int(row[0]) + 1, int(row[1]))

    def _append(self, cur: Cursor, size: int, rows: list[RawRow]) -> None:
        log = self.log
        fresh: dict[tuple[int, int], bytes] = {}
        leaves = []
        nodes = []
        for index, (position, originator_id, version, topic, state) in enumerate(rows, size):
            h = row_leaf_hash(originator_id, version, topic, state)
            fresh[(0, index)] = h
            leaves.append((log, index, position, originator_id, version, h))
            count, level = index + 1, 1
            while count % (1 << level) == 0:
                j = (count >> level) - 1
                left = self._node(cur, level - 1, 2 * j, fresh)
                right = self._node(cur, level - 1, 2 * j + 1, fresh)
                fresh[(level, j)] = node_hash(left, right)
                nodes.append((log, level, j, fresh[(level, j)]))
                level += 1
        self.side.insert_rows(
            cur, "tlog_leaves", ("log", "idx", "position", "originator_id", "version", "hash"),
            leaves, pg_types=("text", "bigint", "bigint", "text", "bigint", "bytea"))
        self.side.insert_rows(cur, "tlog_nodes", ("log", "level", "idx", "hash"), nodes,
                              pg_types=("text", "bigint", "bigint", "bytea"))

    def _node(self, cur: Cursor, level: int, index: int,
              cache: dict[tuple[int, int], bytes]) -> bytes:
        found = cache.get((level, index))
        if found is not None:
            return found
        if level == 0:
            cur.execute(self._q("SELECT hash FROM {t:tlog_leaves} WHERE log = ? AND idx = ?"),
                        (self.log, index))
        else:
            cur.execute(self._q("SELECT hash FROM {t:tlog_nodes} WHERE log = ? AND level = ?"
                                " AND idx = ?"), (self.log, level, index))
        row = cur.fetchone()
        if row is None:
            raise ProofError(f"the sealed tree lacks node {level}/{index}: run audit verify")
        cache[(level, index)] = bytes(row[0])
        return cache[(level, index)]

    # -- reading the tree ---------------------------------------------------------------------

    def size(self) -> int:
        self._tables()
        with self.side.transaction() as cur:
            return self._head(cur)[0]

    def _subtree(self, cur: Cursor) -> Callable[[int, int], bytes]:
        cache: dict[tuple[int, int], bytes] = {}

        def mth(start: int, end: int) -> bytes:
            n = end - start
            if n == 0:
                return EMPTY_ROOT
            if n & (n - 1) == 0 and start % n == 0:
                level = n.bit_length() - 1
                return self._node(cur, level, start >> level, cache)
            k = 1 << ((n - 1).bit_length() - 1)
            return node_hash(mth(start, start + k), mth(start + k, end))

        return mth

    def root(self, size: int) -> bytes:
        self._tables()
        with self.side.transaction() as cur:
            if size > self._head(cur)[0]:
                raise ProofError(f"the tree has fewer than {size} leaves")
            return self._subtree(cur)(0, size)

    def leaves(self) -> list[Leaf]:
        self._tables()
        with self.side.transaction() as cur:
            cur.execute(self._q("SELECT idx, position, originator_id, version, hash FROM"
                                " {t:tlog_leaves} WHERE log = ? ORDER BY idx"), (self.log,))
            return [Leaf(int(r[0]), int(r[1]), str(r[2]), int(r[3]), bytes(r[4]))
                    for r in cur.fetchall()]

    def leaf_at_position(self, position: int) -> Leaf:
        self._tables()
        with self.side.transaction() as cur:
            cur.execute(self._q("SELECT idx, position, originator_id, version, hash FROM"
                                " {t:tlog_leaves} WHERE log = ? AND position = ?"),
                        (self.log, position))
            r = cur.fetchone()
        if r is None:
            raise ProofError(f"no sealed event at log position {position}")
        return Leaf(int(r[0]), int(r[1]), str(r[2]), int(r[3]), bytes(r[4]))

    def inclusion(self, index: int, size: int) -> list[bytes]:
        self._tables()
        with self.side.transaction() as cur:
            head = self._head(cur)[0]
            if size > head:
                raise ProofError(f"tree size {size} is beyond the sealed tree ({head} leaves)")
            return inclusion_proof(index, size, self._subtree(cur))

    def inclusions(self, indices: list[int], size: int) -> list[list[bytes]]:
        """Audit paths of many leaves in one transaction, sharing the subtree lookups."""
        self._tables()
        with self.side.transaction() as cur:
            head = self._head(cur)[0]
            if size > head:
                raise ProofError(f"tree size {size} is beyond the sealed tree ({head} leaves)")
            mth = self._subtree(cur)
            return [inclusion_proof(i, size, mth) for i in indices]

    def consistency(self, first: int, second: int) -> list[bytes]:
        self._tables()
        with self.side.transaction() as cur:
            head = self._head(cur)[0]
            if second > head:
                raise ProofError(f"tree size {second} is beyond the sealed tree ({head} leaves)")
            return consistency_proof(first, second, self._subtree(cur))

    # -- checkpoints --------------------------------------------------------------------------

    def make_checkpoint(self, signer: Signer, *, until: float | None = None) -> SignedCheckpoint:
        """Seal new events (until the deadline, if given) and sign a checkpoint of the tree if
        it grew since the last one."""
        size = self.seal(until=until)
        latest = self.latest_checkpoint()
        if latest is not None and latest.size >= size:
            return latest
        cp = Checkpoint(self.origin, size, self.root(size))
        note = signer.sign(cp.text())
        created = int(time.time())
        with self.side.transaction() as cur:
            cur.execute(self._q("INSERT INTO {t:tlog_checkpoints} (log, size, root, note,"
                                " created) VALUES (?, ?, ?, ?, ?) ON CONFLICT (log, size)"
                                " DO NOTHING"), (self.log, size, cp.root, note, created))
        return SignedCheckpoint(size, cp.root, note, created)

    def checkpoints(self) -> list[SignedCheckpoint]:
        self._tables()
        with self.side.transaction() as cur:
            cur.execute(self._q("SELECT size, root, note, created FROM {t:tlog_checkpoints}"
                                " WHERE log = ? ORDER BY size"), (self.log,))
            return [SignedCheckpoint(int(r[0]), bytes(r[1]), str(r[2]), int(r[3]))
                    for r in cur.fetchall()]

    def latest_checkpoint(self) -> SignedCheckpoint | None:
        self._tables()
        with self.side.transaction() as cur:
            cur.execute(self._q("SELECT size, root, note, created FROM {t:tlog_checkpoints}"
                                " WHERE log = ? ORDER BY size DESC LIMIT 1"), (self.log,))
            r: Any = cur.fetchone()
        return None if r is None else SignedCheckpoint(int(r[0]), bytes(r[1]), str(r[2]),
                                                       int(r[3]))
