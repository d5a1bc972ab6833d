"""The directory: stable integer ids for users, teams, namespaces and registries (Portus API v1).

Portus's API speaks integer ids; Wharfinger's aggregates have UUIDs. The directory is an in-memory
fold that numbers each kind's aggregates 1, 2, 3… in the order their creation events appear in the
log. Every node reads the same log in the same order, so every node (and every restart) gives an
aggregate the same number. Deleted entries keep their number (ids are never reused) but leave the
name lookup, so a new aggregate may take the name and gets a new number.

Its API, for the REST API, the registry read models and the UI:

- `entry(kind, number)` / `entry_of(uuid)` / `named(kind, name)`: an `Entry` (or None);
- `number_of(uuid)` / `uuid_of(kind, number)`: the two directions of the id mapping;
- `entries(kind)`: the live entries of a kind in id order (`include_deleted=True` for all);
- `member_since(team, user)`: when the user joined the team.

Application tokens are numbered too (`Kind.TOKEN`, `parent` = the user), since Portus's token ids
are integers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from domain.namespaces import Namespace
from domain.registries import Registry
from domain.teams import Team
from domain.users import User
from domain.values import TeamKind
from eventstore.reader import LoggedEvent


class Kind(StrEnum):
    USER = "user"
    TEAM = "team"
    NAMESPACE = "namespace"
    REGISTRY = "registry"
    TOKEN = "application_token"  # noqa: S105 (a kind of entry, not a secret)


@dataclass
class Entry:
    kind: Kind
    id: int
    """The integer id the API shows: 1-based, in order of creation, never reused."""
    uuid: UUID
    name: str
    created_at: datetime
    updated_at: datetime
    """Time of the aggregate's latest event."""
    deleted: bool = False
    description: str = ""
    parent: UUID | None = None
    """For application tokens: the user who owns it."""


@dataclass
class Directory:
    position: int = 0
    _by_number: dict[Kind, list[Entry]] = field(
        default_factory=lambda: {kind: [] for kind in Kind})
    _by_uuid: dict[UUID, Entry] = field(default_factory=dict)
    _by_name: dict[Kind, dict[str, Entry]] = field(
        default_factory=lambda: {kind: {} for kind in Kind})
    _joined: dict[tuple[UUID, UUID], datetime] = field(default_factory=dict)

    # -- queries ------------------------------------------------------------------------------

    def entry(self, kind: Kind, number: int) -> Entry | None:
        """The entry with API id `number` (deleted ones too: check `.deleted`)."""
        entries = self._by_number[kind]
        return entries[number - 1] if 0 < number <= len(entries) else None

    def entry_of(self, uuid: UUID) -> Entry | None:
        return self._by_uuid.get(uuid)

    def named(self, kind: Kind, name: str) -> Entry | None:
        """The live entry of `kind` called `name` (exact name)."""
        return self._by_name[kind].get(name)

    def number_of(self, uuid: UUID) -> int | None:
        entry = self._by_uuid.get(uuid)
        return entry.id if entry else None

    def uuid_of(self, kind: Kind, number: int) -> UUID | None:
        entry = self.entry(kind, number)
        return entry.uuid if entry else None

    def entries(self, kind: Kind, *, include_deleted: bool = False) -> list[Entry]:
        entries = self._by_number[kind]
        return list(entries) if include_deleted else [e for e in entries if not e.deleted]

    def member_since(self, team: UUID, user: UUID) -> datetime | None:
        return self._joined.get((team, user))

    # -- the fold -----------------------------------------------------------------------------

    def apply(self, logged: LoggedEvent) -> None:
        event = logged.event
        kind = _CREATED.get(type(event))
        if kind is not None:
            self._created(kind, event)
        elif type(event) not in _BOOKKEEPING:
            entry = self._by_uuid.get(getattr(event, "originator_id", None))  # type: ignore[arg-type]
            if entry is not None:
                entry.updated_at = event.timestamp
                handler = _CHANGES.get(type(event))
                if handler is not None:
                    handler(self, entry, event)
        self.position = logged.position

    def _created(self, kind: Kind, event: Any) -> None:
        entries = self._by_number[kind]
        entry = Entry(kind, len(entries) + 1, event.originator_id, _name_of(event),
                      event.timestamp, event.timestamp,
                      description=str(getattr(event, "description", "")))
        entries.append(entry)
        self._by_uuid[entry.uuid] = entry
        # Hidden (personal, admins) teams claim no name: a regular team may share it.
        if kind is not Kind.TEAM or event.kind == TeamKind.REGULAR.value:
            self._by_name[kind][entry.name] = entry

    def _renamed(self, entry: Entry, event: Any) -> None:
        names = self._by_name[entry.kind]
        if names.get(entry.name) is entry:
            del names[entry.name]
        entry.name = event.name
        names[entry.name] = entry

    def _deleted(self, entry: Entry, event: Any) -> None:
        entry.deleted = True
        names = self._by_name[entry.kind]
        if names.get(entry.name) is entry:
            del names[entry.name]
        if entry.kind is Kind.USER:
            for token in self._by_number[Kind.TOKEN]:
                if token.parent == entry.uuid:
                    token.deleted = True

    def _described(self, entry: Entry, event: Any) -> None:
        entry.description = event.description

    def _joined_team(self, entry: Entry, event: Any) -> None:
        self._joined[(entry.uuid, event.user_id)] = event.timestamp

    def _left_team(self, entry: Entry, event: Any) -> None:
        self._joined.pop((entry.uuid, event.user_id), None)

    def _token_created(self, entry: Entry, event: Any) -> None:
        tokens = self._by_number[Kind.TOKEN]
        token = Entry(Kind.TOKEN, len(tokens) + 1, event.token_id, event.application,
                      event.timestamp, event.timestamp, parent=entry.uuid)
        tokens.append(token)
        self._by_uuid[token.uuid] = token

    def _token_revoked(self, entry: Entry, event: Any) -> None:
        token = self._by_uuid.get(event.token_id)
        if token is not None:
            token.deleted = True


def _name_of(event: Any) -> str:
    return str(event.username if isinstance(event, User.Registered) else event.name)


_CREATED: dict[type[Any], Kind] = {
    User.Registered: Kind.USER,
    Team.Created: Kind.TEAM,
    Namespace.Created: Kind.NAMESPACE,
    Registry.Registered: Kind.REGISTRY,
}

_BOOKKEEPING: frozenset[type[Any]] = frozenset({
    Namespace.RepositoryPopulated, Namespace.RepositoryEmptied,
    Registry.NamespacePopulated, Registry.NamespaceEmptied})
"""What pushes record on namespaces and the registry to guard them: not an edit of theirs, so
their `updated_at` stays (Portus's does not move on a push either)."""

_CHANGES: dict[type[Any], Callable[[Directory, Entry, Any], None]] = {
    Team.Renamed: Directory._renamed,
    Namespace.Renamed: Directory._renamed,
    Registry.Updated: Directory._renamed,
    User.Deleted: Directory._deleted,
    Team.Deleted: Directory._deleted,
    Namespace.Deleted: Directory._deleted,
    Team.DescriptionChanged: Directory._described,
    Namespace.DescriptionChanged: Directory._described,
    Team.MemberAdded: Directory._joined_team,
    Team.MemberRemoved: Directory._left_team,
    User.ApplicationTokenCreated: Directory._token_created,
    User.ApplicationTokenRevoked: Directory._token_revoked,
}
