"""The repositories and tags read model: an in-memory fold of the change log and the audit trail.

Repositories and tags get integer ids in order of first appearance in the log, so the ids of the
Portus API v1 are stable across rebuilds (the log's order never changes). Pull facts come from the
audit trail (a second follower feeds `apply_audit`) and only set `last_pulled_at`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.repositories import BlobMounted, ManifestPulled, NotificationReceipt, Repository
from eventstore.reader import LoggedEvent


@dataclass
class TagRecord:
    id: int
    name: str
    repository_id: int
    digest: str
    media_type: str
    size: int
    author: str
    created_at: datetime
    updated_at: datetime
    last_pulled_at: datetime | None = None


@dataclass
class RepositoryRecord:
    id: int
    uuid: UUID
    namespace_id: UUID
    namespace_name: str
    name: str
    full_name: str
    created_at: datetime
    updated_at: datetime
    tags: dict[str, TagRecord] = field(default_factory=dict)
    description: str = ""

    def tag_groups(self) -> list[list[TagRecord]]:
        """Tags grouped by digest, newest group first (Portus's `/tags/grouped`)."""
        groups: dict[str, list[TagRecord]] = {}
        for tag in sorted(self.tags.values(), key=lambda t: (t.updated_at, t.id), reverse=True):
            groups.setdefault(tag.digest, []).append(tag)
        return list(groups.values())

    def siblings(self, tag: TagRecord) -> list[str]:
        """The other tags on the same digest: deleting the manifest removes them too."""
        return sorted(t.name for t in self.tags.values()
                      if t.digest == tag.digest and t.name != tag.name)


@dataclass
class RepositoryCatalog:
    position: int = 0
    audit_position: int = 0
    repositories: dict[int, RepositoryRecord] = field(default_factory=dict)
    ids_by_uuid: dict[UUID, int] = field(default_factory=dict)
    ids_by_full_name: dict[str, int] = field(default_factory=dict)
    tags: dict[int, TagRecord] = field(default_factory=dict)
    _tag_ids: dict[tuple[int, str], int] = field(default_factory=dict)
    _last_id: int = 0
    """The last repository id given (ids are never given twice: a recreated repository gets
    a new one and its old one is gone)."""
    last_notification_at: datetime | None = None
    """When the last registry notification was recorded (a push or delete in the change log,
    a pull or mount in the audit trail)."""

    # -- queries --------------------------------------------------------------------------------

    def listed(self) -> Iterator[RepositoryRecord]:
        """Repositories with at least one tag, in id order (an emptied one is not listed)."""
        return (r for r in self.repositories.values() if r.tags)

    def by_full_name(self, full_name: str) -> RepositoryRecord | None:
        rid = self.ids_by_full_name.get(full_name)
        return self.repositories.get(rid) if rid is not None else None

    def tag(self, tag_id: int) -> tuple[RepositoryRecord, TagRecord] | None:
        tag = self.tags.get(tag_id)
        if tag is None:
            return None
        return self.repositories[tag.repository_id], tag

    # -- the folds ------------------------------------------------------------------------------

    def apply(self, logged: LoggedEvent) -> None:
        handler = _HANDLERS.get(type(logged.event))
        if handler is not None:
            handler(self, logged.event)
        self.position = logged.position

    def apply_audit(self, logged: LoggedEvent) -> None:
        self.note_fact(logged.event)
        self.audit_position = logged.position

    def note_fact(self, e: object) -> None:
        """Apply an audit-trail fact (a pull or a mount); others are skipped."""
        if isinstance(e, ManifestPulled):
            self._note_notification(e.timestamp)
            repo = self.by_full_name(e.repository)
            if repo is not None:
                for tag in repo.tags.values():
                    if tag.name == e.tag or (not e.tag and tag.digest == e.digest):
                        tag.last_pulled_at = e.timestamp
        elif isinstance(e, BlobMounted):
            self._note_notification(e.timestamp)

    def _note_notification(self, when: datetime) -> None:
        if self.last_notification_at is None or when > self.last_notification_at:
            self.last_notification_at = when

    def _created(self, e: Repository.Created) -> None:
        self._add(e, e.name, e.full_name)

    def _recreated(self, e: Repository.Recreated) -> None:
        """A new repository in the namespace holding the name now (a new id, as Portus gives
        one): the old one, empty, goes with its deleted (or renamed) namespace."""
        old = self.repositories.pop(self.ids_by_uuid[e.originator_id])
        self._remove_tags(old, list(old.tags))
        self._add(e, old.name, old.full_name)

    def _add(self, e: Repository.Created | Repository.Recreated, name: str,
             full_name: str) -> None:
        """A record under the next id (ids are never given twice)."""
        rid = self._last_id = self._last_id + 1
        self.repositories[rid] = RepositoryRecord(
            rid, e.originator_id, e.namespace_id, e.namespace_name, name, full_name,
            e.timestamp, e.timestamp)
        self.ids_by_uuid[e.originator_id] = rid
        self.ids_by_full_name[full_name] = rid

    def _repo(self, e: Any) -> RepositoryRecord:
        repo = self.repositories[self.ids_by_uuid[e.originator_id]]
        repo.updated_at = e.timestamp
        return repo

    def _set_tag(self, repo: RepositoryRecord, name: str, digest: str, media_type: str,
                 size: int, author: str, when: datetime) -> None:
        tag = repo.tags.get(name)
        if tag is None:
            tid = self._tag_ids.get((repo.id, name))
            if tid is None:
                tid = self._tag_ids[(repo.id, name)] = len(self._tag_ids) + 1
            tag = TagRecord(tid, name, repo.id, digest, media_type, size, author, when, when)
            repo.tags[name] = tag
            self.tags[tid] = tag
        else:
            # Portus keeps the first author of a tag and updates what it points to.
            tag.digest, tag.media_type, tag.size, tag.updated_at = digest, media_type, size, when

    def _remove_tags(self, repo: RepositoryRecord, names: list[str]) -> None:
        for name in names:
            tag = repo.tags.pop(name, None)
            if tag is not None:
                self.tags.pop(tag.id, None)

    def _tag_pushed(self, e: Repository.TagPushed) -> None:
        self._set_tag(self._repo(e), e.tag, e.digest, e.media_type, e.size, e.actor,
                      e.timestamp)

    def _tag_discovered(self, e: Repository.TagDiscovered) -> None:
        repo = self._repo(e)
        known = next((t for t in repo.tags.values() if t.digest == e.digest), None)
        self._set_tag(repo, e.tag, e.digest, e.media_type, known.size if known else 0,
                      e.actor, e.timestamp)

    def _manifest_deleted(self, e: Repository.ManifestDeleted) -> None:
        self._remove_tags(self._repo(e), list(e.tags))

    def _tag_removed(self, e: Repository.TagDeleted | Repository.TagNoLongerPresent) -> None:
        self._remove_tags(self._repo(e), [e.tag])

    def _touched(self, e: Repository.ManifestPushed) -> None:
        self._repo(e)

    def _described(self, e: Repository.DescriptionChanged) -> None:
        self._repo(e).description = e.description

    def _receipt(self, e: NotificationReceipt.Received) -> None:
        self._note_notification(e.timestamp)


_HANDLERS: dict[type[Any], Callable[[RepositoryCatalog, Any], None]] = {
    Repository.Created: RepositoryCatalog._created,
    Repository.Recreated: RepositoryCatalog._recreated,
    Repository.TagPushed: RepositoryCatalog._tag_pushed,
    Repository.ManifestPushed: RepositoryCatalog._touched,
    Repository.ManifestDeleted: RepositoryCatalog._manifest_deleted,
    Repository.TagDeleted: RepositoryCatalog._tag_removed,
    Repository.TagDiscovered: RepositoryCatalog._tag_discovered,
    Repository.TagNoLongerPresent: RepositoryCatalog._tag_removed,
    NotificationReceipt.Received: RepositoryCatalog._receipt,
    Repository.DescriptionChanged: RepositoryCatalog._described,
}
