"""Fold checkpoints: the permission fold saved every N events, so a past state is a checkpoint
plus at most N events, never a replay from the beginning.

A checkpoint row holds the log position it reflects, the latest event time folded so far (a
high-water mark, so "the last checkpoint whose time ≤ T" is a plain index lookup even if clocks
of several nodes disagree a little) and the fold's state: `marshal`led plain lists, compressed,
behind an HMAC-SHA-256 with a secret from the data directory. The table is data an attacker with
database access can edit; an edited checkpoint fails its MAC and is ignored (the query replays
from an earlier one), so it can neither make time travel lie nor feed `marshal` crafted bytes.

"The state at time T" is the fold of the longest prefix of the log whose events all happened at
or before T: the events a reader at T could have seen, in log order.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import marshal
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, SafeUUID

from domain.values import AccessRules, NamespaceKind, PushPolicy, Role, TeamKind, Visibility
from eventstore.reader import LoggedEvent
from eventstore.side_tables import SideTables
from projections.permissions import (
    NamespaceRecord,
    PermissionIndex,
    RegistryRecord,
    TeamRecord,
    UserRecord,
)

FORMAT = 3
DEFAULT_EVERY = 1000
log = logging.getLogger(__name__)


class CheckpointError(ValueError):
    """A checkpoint whose MAC or format is wrong: never loaded."""

DDL = ("CREATE TABLE IF NOT EXISTS {t:fold_checkpoints} (position INTEGER PRIMARY KEY,"
       " folded INTEGER NOT NULL, max_time INTEGER NOT NULL, state BLOB NOT NULL)",
       "CREATE INDEX IF NOT EXISTS fold_checkpoints_time ON {t:fold_checkpoints} (max_time)")

ReadAfter = Callable[[int, int], list[LoggedEvent]]


def micros(t: datetime) -> int:
    return int(t.timestamp() * 1_000_000)


def event_micros(logged: LoggedEvent) -> int:
    return micros(logged.event.timestamp)


# -- the fold's state as JSON ---------------------------------------------------------------------
# Every id is written once, in `ids`, and referred to by its place there; memberships are flat
# lists of `user * 4 + role`. Loading is on the path of every time-travel query, and building
# UUID objects and dicts dominates it, so each distinct UUID is built once.

_ROLES = list(Role)
_ROLE_NUMBER = {r: i for i, r in enumerate(_ROLES)}
_TEAM_KINDS = {k.value: k for k in TeamKind}
_NS_KINDS = {k.value: k for k in NamespaceKind}
_VISIBILITIES = {v.value: v for v in Visibility}


_new = object.__new__
_set_int = UUID.__dict__["int"].__set__
_set_safe = UUID.__dict__["is_safe"].__set__
_UNKNOWN = SafeUUID.unknown


def _uuids(values: list[int]) -> list[UUID]:
    # UUID(int=…) validates and is several times slower; each value came from a UUID's `int`.
    # The slots' own setters (C) are three times faster than object.__setattr__ by name, and
    # loading a checkpoint builds thousands of these per time-travel query.
    out = []
    for value in values:
        u = _new(UUID)
        _set_int(u, value)
        _set_safe(u, _UNKNOWN)
        out.append(u)
    return out


class _Numbering(dict[int, int]):
    """A UUID's `int` -> its place in `ids`, numbered on first sight. A hit is one C-level
    subscript (an int's hash, no Python `UUID.__hash__` and no function call): dumping runs at
    every checkpoint, and most references repeat ids already numbered (members are users)."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[int] = []

    def __missing__(self, value: int) -> int:
        n = self[value] = len(self.ids)
        self.ids.append(value)
        return n


def dump_index(index: PermissionIndex, key: bytes) -> bytes:
    number = _Numbering()
    role_number = _ROLE_NUMBER
    users = [[number[u.id.int], u.username, u.email, u.admin, u.bot, u.enabled, u.password_hash,
              u.credentials_version, u.display_name,
              [[number[t.int], app, h] for t, (app, h) in u.tokens.items()]]
             for u in index.users.values()]
    teams = [[number[t.id.int], t.name, t.kind.value,
              [number[m.int] * 4 + role_number[r] for m, r in t.members.items()]]
             for t in index.teams.values()]
    namespaces = [[number[n.id.int], n.name, n.kind.value, n.visibility.value,
                   number[n.team_id.int]] for n in index.namespaces.values()]
    # The name maps are written as they are, not rebuilt from the records: after renames and
    # deletions they are the fold's own facts.
    user_names = [[n, number[u.int]] for n, u in index.user_ids_by_name.items()]
    ns_names = [[n, number[u.int]] for n, u in index.namespace_ids_by_name.items()]
    reg = index.registry
    state = {
        "format": FORMAT, "position": index.position, "ids": number.ids, "users": users,
        "teams": teams, "namespaces": namespaces, "user_names": user_names,
        "namespace_names": ns_names,
        "registry": [reg.name, reg.hostname, reg.external_hostname, reg.use_ssl] if reg else None,
        "global": number[index.global_namespace_id.int] if index.global_namespace_id else None,
        "rules": [index.rules.push_policy.value, index.rules.delete_enabled,
                  index.rules.delete_contributors],
    }
    payload = zlib.compress(marshal.dumps(state), 1)
    return hmac.new(key, payload, hashlib.sha256).digest() + payload


def load_index(blob: bytes, key: bytes) -> PermissionIndex:
    mac, payload = blob[:32], blob[32:]
    if not hmac.compare_digest(mac, hmac.new(key, payload, hashlib.sha256).digest()):
        raise CheckpointError("fold checkpoint fails its MAC (altered, or another key)")
    # Authenticated above: these are bytes this service wrote.
    state: dict[str, Any] = marshal.loads(zlib.decompress(payload))  # noqa: S302
    if state.get("format") != FORMAT:
        raise CheckpointError(f"unknown fold checkpoint format {state.get('format')!r}")
    ids = _uuids(state["ids"])
    roles = _ROLES
    index = PermissionIndex(position=int(state["position"]))
    users = index.users
    for uid, name, email, admin, bot, enabled, pw, cv, display, tokens in state["users"]:
        user_id = ids[uid]
        users[user_id] = UserRecord(user_id, name, email, admin, bot, enabled, pw, cv, display,
                                    {ids[t]: (app, h) for t, app, h in tokens} if tokens else {})
    index.user_ids_by_name = {name: ids[u] for name, u in state["user_names"]}
    index.namespace_ids_by_name = {name: ids[n] for name, n in state["namespace_names"]}
    for tid, name, kind, members in state["teams"]:
        index.teams[ids[tid]] = TeamRecord(ids[tid], name, _TEAM_KINDS[kind],
                                           {ids[m >> 2]: roles[m & 3] for m in members})
    for nid, name, kind, visibility, team in state["namespaces"]:
        index.namespaces[ids[nid]] = NamespaceRecord(
            ids[nid], name, _NS_KINDS[kind], _VISIBILITIES[visibility], ids[team])
    if state["registry"] is not None:
        index.registry = RegistryRecord(*state["registry"])
    index.global_namespace_id = ids[state["global"]] if state["global"] is not None else None
    policy, delete_enabled, delete_contributors = state["rules"]
    index.rules = AccessRules(PushPolicy(policy), delete_enabled, delete_contributors)
    return index


# -- the checkpoints ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Checkpoint:
    position: int
    folded: int
    max_time: int


@dataclass
class PastState:
    index: PermissionIndex
    """The fold at `position`, the last event at or before the requested time."""
    position: int
    checkpoint: int
    """The checkpoint it started from (0: the empty fold) and how many events were replayed."""
    replayed: int


class FoldCheckpoints:
    """Writes a checkpoint every `every` events and answers "the fold as it was at T"."""

    def __init__(self, side: SideTables, read_after: ReadAfter, *, key: bytes,
                 every: int = DEFAULT_EVERY, follow: ReadAfter | None = None) -> None:
        """`follow`: what `catch_up` reads with instead of `read_after`, a follower's read
        (eventstore.reader, follower=True) whose batch may end before the log does, as
        catch_up just reads on at its next round; replays to a time or a position stop at their
        first short batch, so they always read with `read_after`."""
        if every < 1:
            raise ValueError("checkpoints need an interval of at least one event")
        if len(key) < 16:
            raise ValueError("the checkpoint MAC key needs at least 16 bytes")
        self._key = key
        self._side = side
        self._read_after = read_after
        self._follow = follow or read_after
        self.every = every
        self._created = False
        # The live fold of the writer, kept between calls so catching up reads only new events.
        self._index: PermissionIndex | None = None
        self._folded = 0
        self._max_time = 0

    def _ensure_tables(self) -> None:
        if not self._created:
            self._side.create(DDL)
            self._created = True

    def latest(self, *, at_or_before: int | None = None) -> tuple[Checkpoint, bytes] | None:
        """The last checkpoint (whose high-water time is ≤ `at_or_before`, if given)."""
        self._ensure_tables()
        with self._side.transaction() as cur:
            if at_or_before is None:
                cur.execute(self._side.render(
                    "SELECT position, folded, max_time, state FROM {t:fold_checkpoints}"
                    " ORDER BY position DESC LIMIT 1"))
            else:
                cur.execute(self._side.render(
                    "SELECT position, folded, max_time, state FROM {t:fold_checkpoints}"
                    " WHERE max_time <= ? ORDER BY max_time DESC, position DESC LIMIT 1"),
                    (at_or_before,))
            row = cur.fetchone()
        if row is None:
            return None
        return Checkpoint(int(row[0]), int(row[1]), int(row[2])), bytes(row[3])

    def catch_up(self, batch: int = 1000) -> int:
        """Fold new events, writing a checkpoint at every `every`th; returns events folded."""
        if self._index is None:
            found = self.latest()
            self._index, self._folded, self._max_time = PermissionIndex(), 0, 0
            if found is not None:
                cp, blob = found
                loaded = self._load(blob, cp.position)
                if loaded is not None:
                    self._index, self._folded, self._max_time = loaded, cp.folded, cp.max_time
        index = self._index
        pending: list[tuple[int, int, int, bytes]] = []
        applied = 0
        while True:
            events = self._follow(index.position, batch)
            for logged in events:
                index.apply(logged)
                self._folded += 1
                applied += 1
                self._max_time = max(self._max_time, event_micros(logged))
                if self._folded % self.every == 0:
                    pending.append((index.position, self._folded, self._max_time,
                                    dump_index(index, self._key)))
            if pending:
                self._write(pending)
                pending = []
            if len(events) < batch:
                return applied

    def _write(self, rows: list[tuple[int, int, int, bytes]]) -> None:
        # Several nodes may write the same checkpoint: its content is determined by the log (a
        # row that failed its MAC is replaced).
        with self._side.transaction() as cur:
            cur.executemany(self._side.render(
                "INSERT INTO {t:fold_checkpoints} (position, folded, max_time, state)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (position) DO UPDATE SET"
                " folded = excluded.folded, max_time = excluded.max_time,"
                " state = excluded.state"), rows)

    def _load(self, blob: bytes, position: int) -> PermissionIndex | None:
        try:
            return load_index(blob, self._key)
        except CheckpointError as e:
            log.warning("ignoring the fold checkpoint at position %d: %s", position, e)
            return None

    def state_at(self, when: datetime, *, batch: int = 500) -> PastState:
        """The fold of every event up to the first one that happened after `when`."""
        limit = micros(when)
        found = self.latest(at_or_before=limit)
        loaded = self._load(found[1], found[0].position) if found else None
        index = loaded if loaded is not None else PermissionIndex()
        start = index.position
        replayed = 0
        while True:
            events = self._read_after(index.position, batch)
            for logged in events:
                if event_micros(logged) > limit:
                    return PastState(index, index.position, start, replayed)
                index.apply(logged)
                replayed += 1
            if len(events) < batch:
                return PastState(index, index.position, start, replayed)

    def state_at_position(self, position: int, *, batch: int = 500) -> PastState:
        """The fold of every event up to and including log position `position`."""
        self._ensure_tables()
        with self._side.transaction() as cur:
            cur.execute(self._side.render(
                "SELECT state FROM {t:fold_checkpoints} WHERE position <= ?"
                " ORDER BY position DESC LIMIT 1"), (position,))
            row = cur.fetchone()
        loaded = self._load(bytes(row[0]), position) if row else None
        index = loaded if loaded is not None else PermissionIndex()
        start, replayed = index.position, 0
        while index.position < position:
            events = self._read_after(index.position, batch)
            for logged in events:
                if logged.position > position:
                    return PastState(index, index.position, start, replayed)
                index.apply(logged)
                replayed += 1
            if len(events) < batch:
                break
        return PastState(index, index.position, start, replayed)
