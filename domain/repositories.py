"""Repositories and tags: what the registry holds, recorded as facts the registry reported or
Wharfinger observed (portus.md §1.5, §4; docker-token-auth.md §1.6, §3.8).

A repository is an aggregate whose id derives from its full name, so a push that creates it and a
concurrent one cannot create two. Each recorded registry notification also saves a
`NotificationReceipt` whose id derives from the registry's event id: a notification delivered
twice fails on the store's key the second time and is recorded once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from domain import events
from domain.actors import ANONYMOUS, acting_as
from domain.errors import NameTakenError, NotFoundError
from domain.events import Event
from domain.facts import Fact
from domain.ids import name_id
from domain.names import NAMESPACE_NAME, NameClaim, claim_id
from domain.namespaces import Namespace
from domain.notifications import RegistryNotice
from domain.registries import ADMINS_TEAM_ID, GLOBAL_NAMESPACE_NAME, REGISTRY_ID, Registry
from domain.values import NamespaceKind, Visibility

if TYPE_CHECKING:
    from eventsourcing.application import Repository as EventRepository
    from eventsourcing.persistence import ApplicationRecorder, Mapper

T = TypeVar("T")

_ID_ROOT = uuid5(NAMESPACE_URL, "https://wharfinger.dev/ids")


# Remembered: intake derives each id several times per notice (the batch's lookups, the
# aggregate, the receipt, the audit fact), and a uuid5 (SHA-1 and a UUID) was 6% of its CPU.
# name_id is uuid5, built faster (domain.ids).
@functools.lru_cache(maxsize=4096)
def repository_id(full_name: str) -> UUID:
    return name_id(_ID_ROOT, f"repository/{full_name}")


@functools.lru_cache(maxsize=4096)
def notice_id(event_id: str) -> UUID:
    """The id of what a registry event records: the same event always maps to the same id."""
    return name_id(_ID_ROOT, f"registry-event/{event_id}")


def split_repository(full_name: str) -> tuple[str, str]:
    """`ns/a/b` → (`ns`, `a/b`); a name without `/` lives in the global namespace (§1.5)."""
    ns, slash, rest = full_name.partition("/")
    if not slash:
        return GLOBAL_NAMESPACE_NAME, full_name
    return ns, rest


class Observed(Event):
    """A change the registry reported (a notification) or Wharfinger made or observed."""

    via: str
    """`registry` (a notification), `wharfinger` (our own delete) or `sync` (reconcile)."""
    event_id: str
    request_id: str
    client_addr: str
    user_agent: str
    registry_instance: str
    occurred_at: str
    """The registry's timestamp of the event ("" when Wharfinger observed it itself)."""


class TagAssigned(Observed):
    """Base of the events after which `tag` points at `digest` (a push, or found by reconcile)."""

    tag: str
    digest: str
    media_type: str

    def apply(self, repo: Repository) -> None:
        repo.tags[self.tag] = self.digest
        repo.manifests[self.digest] = self.media_type


class TagRemoved(Observed):
    """Base of the events after which `tag` is gone (a delete, or missed by reconcile)."""

    tag: str
    digest: str

    def apply(self, repo: Repository) -> None:
        repo.tags.pop(self.tag, None)


class Repository(Aggregate):
    class Created(events.Created):
        namespace_id: UUID
        namespace_name: str
        name: str
        full_name: str
        origin: str

        def apply(self, repo: Repository) -> None:
            repo.namespace_id, repo.name, repo.full_name = (
                self.namespace_id, self.name, self.full_name)

    class Recreated(Event):
        """A push (or a sync) into a repository whose namespace was deleted or renamed since,
        while the repository held no tags: the namespace now holding its name (found, or
        created for the push as for a new repository) gets it afresh, as Portus and Harbor
        create a new repository there (deleting a namespace deletes its repositories): no
        tags, no description. The manifests the registry still keeps under the path stay
        known, so they can still be deleted."""

        namespace_id: UUID
        namespace_name: str
        full_name: str
        origin: str

        def apply(self, repo: Repository) -> None:
            repo.namespace_id = self.namespace_id
            repo.tags = {}
            repo.description = ""
            repo.generation += 1

    class TagPushed(TagAssigned):
        manifest_size: int
        size: int
        old_digest: str

    class ManifestPushed(Observed):
        """A push by digest, without a tag."""

        digest: str
        media_type: str
        manifest_size: int
        size: int

        def apply(self, repo: Repository) -> None:
            repo.manifests[self.digest] = self.media_type

    class ManifestDeleted(Observed):
        """A manifest was deleted, and with it every tag on its digest (Distribution 2.8)."""

        digest: str
        tags: list[str]

        def apply(self, repo: Repository) -> None:
            repo.manifests.pop(self.digest, None)
            for tag in self.tags:
                repo.tags.pop(tag, None)

    class TagDeleted(TagRemoved):
        """A tag was deleted alone; its manifest stays (OCI distribution 1.1)."""

    class TagDiscovered(TagAssigned):
        """Reconcile found a tag the log did not know, or on another digest."""

        old_digest: str

    class TagNoLongerPresent(TagRemoved):
        """Reconcile found a tag the log knew missing from the registry."""

    class DescriptionChanged(Event):
        """An admin or an owner of the namespace's team described the repository (Portus F23)."""

        old_description: str
        description: str

        def apply(self, repo: Repository) -> None:
            repo.description = self.description

    def __init__(self) -> None:
        self.namespace_id: UUID | None = None
        self.name = ""
        self.full_name = ""
        self.tags: dict[str, str] = {}
        """tag → digest"""
        self.manifests: dict[str, str] = {}
        """digest → media type, for every manifest known to be in the registry"""
        self.description = ""
        self.generation = 0
        """How many times it was recreated (stars name the generation they were given in)."""

    @classmethod
    def create(cls, *, namespace_id: UUID, namespace_name: str, full_name: str,
               origin: str) -> Repository:
        _, name = split_repository(full_name)
        return cls._create(cls.Created, id=repository_id(full_name), namespace_id=namespace_id,
                           namespace_name=namespace_name, name=name, full_name=full_name,
                           origin=origin)

    def recreate(self, *, namespace_id: UUID, namespace_name: str, origin: str) -> None:
        self.trigger_event(self.Recreated, namespace_id=namespace_id,
                           namespace_name=namespace_name, full_name=self.full_name,
                           origin=origin)

    def describe(self, description: str) -> None:
        if description != self.description:
            self.trigger_event(self.DescriptionChanged, old_description=self.description,
                               description=description)

    def tags_on(self, digest: str) -> list[str]:
        return sorted(t for t, d in self.tags.items() if d == digest)

    def push(self, notice: RegistryNotice) -> None:
        context = _context(notice)
        if notice.tag:
            self.trigger_event(self.TagPushed, tag=notice.tag, digest=notice.digest,
                               media_type=notice.media_type, manifest_size=notice.manifest_size,
                               size=notice.image_size, old_digest=self.tags.get(notice.tag, ""),
                               **context)
        else:
            self.trigger_event(self.ManifestPushed, digest=notice.digest,
                               media_type=notice.media_type, manifest_size=notice.manifest_size,
                               size=notice.image_size, **context)

    def delete(self, notice: RegistryNotice) -> bool:
        """Record a delete the registry reported; False when it removes nothing we know (the
        tag event after a digest delete, or the echo of our own delete)."""
        context = _context(notice)
        if notice.digest:
            return self.delete_manifest(notice.digest, context)
        return self.delete_tag(notice.tag, context)

    def delete_manifest(self, digest: str, context: dict[str, str]) -> bool:
        tags = self.tags_on(digest)
        if not tags and digest not in self.manifests:
            return False
        self.trigger_event(self.ManifestDeleted, digest=digest, tags=tags, **context)
        return True

    def delete_tag(self, tag: str, context: dict[str, str]) -> bool:
        digest = self.tags.get(tag)
        if digest is None:
            return False
        self.trigger_event(self.TagDeleted, tag=tag, digest=digest, **context)
        return True

    def observe(self, observed: dict[str, tuple[str, str]], *, remove_missing: bool) -> int:
        """Record how the registry's tags (tag → (digest, media type)) differ from ours."""
        context = own_context("sync")
        changes = 0
        for tag, (digest, media_type) in sorted(observed.items()):
            old = self.tags.get(tag, "")
            if old != digest:
                self.trigger_event(self.TagDiscovered, tag=tag, digest=digest,
                                   media_type=media_type, old_digest=old, **context)
                changes += 1
        if remove_missing:
            for tag in sorted(set(self.tags) - set(observed)):
                self.trigger_event(self.TagNoLongerPresent, tag=tag, digest=self.tags[tag],
                                   **context)
                changes += 1
        return changes


class _NoticeBatch:
    """The aggregates one transaction of notices works on: each loaded or created once."""

    def __init__(self, unknown: Callable[[str], bool] | None = None) -> None:
        self.unknown = unknown
        """Repository names believed not to exist (RepositoryCommands.record_notices)."""
        self.repositories: dict[UUID, Repository] = {}
        self.namespaces: dict[str, Namespace] = {}
        self.created: list[Aggregate] = []
        """Namespaces and their name claims, created to hold new repositories."""
        self.receipts: dict[UUID, NotificationReceipt] = {}
        self.registered: bool | None = None
        """Whether the registry is registered (looked up once, when first needed)."""
        self.name_owners: dict[str, UUID | None] = {}
        """Namespace name → the id of the namespace holding it (None: free), as its claim
        said when the batch first asked (RepositoryCommands._in_its_namespace)."""
        self.had_tags: dict[UUID, bool] = {}
        """Whether each repository held tags when the batch first saw it."""
        self.occupancy: list[Aggregate] = []
        """Namespaces and the registry, when a repository started or stopped holding tags."""
        self.loaded: dict[UUID, Aggregate | None] = {}
        """Aggregates read before the notices were applied, all at once (`Loader`); each
        lookup of one of these ids in the batch finds the same instance."""

    def aggregates(self) -> list[Aggregate]:
        # Only what changed: a repository loaded for a delete that found nothing stays out.
        changed = [r for r in self.repositories.values() if r.pending_events]
        return ([*changed, *self.created, *self.occupancy, *self.receipts.values()]
                if changed else [])


Loader = Callable[[Sequence[UUID]], dict[UUID, Aggregate | None]]
"""Reads several aggregates at once (None for an id without events), each as the application's
repository would return it: what a batch of notices needs in one round trip, not one each."""


class NotificationReceipt(Aggregate):
    """A registry event was recorded; its id derives from the registry's event id."""

    class Received(events.Created):
        event_id: str
        action: str
        repository: str

    @classmethod
    def receive(cls, notice: RegistryNotice) -> NotificationReceipt:
        return cls._create(cls.Received, id=notice_id(notice.event_id), event_id=notice.event_id,
                           action=notice.action, repository=notice.repository)


class ManifestPulled(Fact):
    """A manifest was pulled (an audit-trail fact; blob pulls are not recorded)."""

    repository: str
    tag: str
    digest: str
    media_type: str
    event_id: str
    request_id: str
    client_addr: str
    user_agent: str
    registry_instance: str
    occurred_at: str


class BlobMounted(Fact):
    """A blob was mounted from another repository (cross-repository mount)."""

    repository: str
    from_repository: str
    digest: str
    event_id: str
    request_id: str
    client_addr: str
    user_agent: str
    registry_instance: str
    occurred_at: str


def audit_fact(notice: RegistryNotice) -> Fact | None:
    """The audit-trail fact of a pull or mount notice (None for blob pulls)."""
    context: dict[str, Any] = _context(notice)
    context.pop("via")
    actor = notice.actor or ANONYMOUS
    if notice.action == "pull" and notice.is_manifest:
        return ManifestPulled.new(fact_id=notice_id(notice.event_id), actor=actor,
                                  repository=notice.repository, tag=notice.tag,
                                  digest=notice.digest, media_type=notice.media_type, **context)
    if notice.action == "mount":
        return BlobMounted.new(fact_id=notice_id(notice.event_id), actor=actor,
                               repository=notice.repository,
                               from_repository=notice.from_repository, digest=notice.digest,
                               **context)
    return None


def _context(notice: RegistryNotice) -> dict[str, str]:
    return {"via": "registry", "event_id": notice.event_id, "request_id": notice.request_id,
            "client_addr": notice.client_addr, "user_agent": notice.user_agent,
            "registry_instance": notice.instance_id, "occurred_at": notice.timestamp}


def own_context(via: str) -> dict[str, str]:
    return {"via": via, "event_id": "", "request_id": "", "client_addr": "", "user_agent": "",
            "registry_instance": "", "occurred_at": ""}


class RepositoryCommands:
    """The commands on repositories; a mixin of `domain.application.Wharfinger`."""

    if TYPE_CHECKING:
        repository: EventRepository[UUID]

        def _run(self, command: Callable[[], list[Aggregate]], *,
                 return_recordings: bool = False) -> list[Any]: ...

        def _get(self, cls: type[T], aggregate_id: UUID) -> T: ...

        def _claim(self, kind: str, name: str, owner_id: UUID) -> NameClaim: ...

        def _find(self, cls: type[T], aggregate_id: UUID) -> T | None: ...

        def _find_claim(self, kind: str, name: str) -> NameClaim | None: ...

        recorder: ApplicationRecorder
        mapper: Mapper[UUID]

    def describe_repository(self, full_name: str, description: str) -> None:
        def command() -> list[Aggregate]:
            repo = self._get(Repository, repository_id(full_name))
            repo.describe(description)
            return [repo]

        self._run(command)

    def record_notice(self, notice: RegistryNotice) -> str:
        """Record a push or delete notice once: `recorded`, `duplicate` or `ignored`."""
        return self.record_notices([notice])[0]

    def record_notices(self, notices: Sequence[RegistryNotice], *,
                       unknown: Callable[[str], bool] | None = None,
                       load: Loader | None = None) -> list[str]:
        """Record push and delete notices (of one envelope or of several received at once) in
        one transaction, in order, each once: per notice `recorded`, `duplicate` or `ignored`.

        One transaction for many notices is what lets intake keep up with a busy registry
        (a commit per notice caps it at the store's commit rate); each notice's changes are
        still all or nothing, and later notices see earlier ones (a push then a delete of the
        same tag), because they work on the same aggregates in memory.

        `unknown(full_name)` is a hint (a read model's): True when the caller believes no such
        repository exists yet. A push there creates it without a lookup on the first attempt (a
        round trip each, which on PostgreSQL dominates intake); if it existed after all, the
        store refuses the second creation and the next attempt looks everything up.

        `load`, if given, reads what the notices will need (their repositories, their
        namespaces' claims and the namespaces, the registry) in one go before they are applied,
        rather than one read per aggregate as each notice comes to it."""
        outcomes: list[str] = []
        attempts = [0]

        def command() -> list[Aggregate]:
            # Redeliveries are rare: the first attempt looks no receipt up (a duplicate fails
            # the transaction on the receipt's key), the next ones look each one up.
            check_receipts = attempts[0] > 0
            attempts[0] += 1
            outcomes.clear()
            batch = _NoticeBatch(unknown if not check_receipts else None)
            if load is not None:
                self._preload(notices, batch, load)
            for notice in notices:
                receipt = notice_id(notice.event_id)
                if receipt in batch.receipts or (
                        check_receipts and self.recorder.select_events(receipt, limit=1)):
                    outcomes.append("duplicate")
                    continue
                with acting_as(notice.actor or ANONYMOUS):
                    changed = self._apply_notice(notice, batch)
                    if changed:
                        batch.receipts[receipt] = NotificationReceipt.receive(notice)
                outcomes.append("recorded" if changed else "ignored")
            self._note_occupancy(batch)
            return batch.aggregates()

        self._run_claiming(command)
        return outcomes

    def _preload(self, notices: Sequence[RegistryNotice], batch: _NoticeBatch,
                 load: Loader) -> None:
        """Read at once what `_locate` and `_note_occupancy` would read one by one: two reads
        (the namespaces' ids are in their claims), not one per aggregate."""
        repositories: list[UUID] = []
        namespaces: list[UUID] = []
        pushes = False
        for notice in notices:
            if not (notice.action == "delete" or (notice.action == "push"
                                                   and notice.is_manifest)):
                continue
            namespaces.append(claim_id("namespace", split_repository(notice.repository)[0]))
            if notice.action == "push":
                pushes = True
                if batch.unknown is not None and batch.unknown(notice.repository):
                    continue  # created without a lookup (_locate)
            repositories.append(repository_id(notice.repository))
        if not namespaces:
            return
        batch.loaded = load([*repositories, *namespaces, *([REGISTRY_ID] if pushes else [])])
        owners = [claim.owner_id for claim in batch.loaded.values()
                  if isinstance(claim, NameClaim) and claim.owner_id is not None]
        if owners:
            batch.loaded.update(load(owners))

    def _find_in(self, batch: _NoticeBatch, cls: type[T], aggregate_id: UUID) -> T | None:
        """`_find`, answered from the batch's preloaded aggregates when it has this one."""
        if aggregate_id in batch.loaded:
            found = batch.loaded[aggregate_id]
            return found if isinstance(found, cls) else None
        return self._find(cls, aggregate_id)

    def _apply_notice(self, notice: RegistryNotice, batch: _NoticeBatch) -> bool:
        """Apply one notice to the batch's aggregates; False if it changes nothing."""
        if notice.action == "push":
            if not notice.is_manifest:
                return False
            repo = self._locate(notice.repository, create=True, batch=batch)
            if repo is None:
                return False
            repo.push(notice)
            return True
        if notice.action == "delete":
            repo = self._locate(notice.repository, create=False, batch=batch)
            return repo is not None and repo.delete(notice)
        return False

    def _locate(self, full_name: str, *, create: bool, batch: _NoticeBatch
                ) -> Repository | None:
        """The repository named `full_name`, from the batch or the store; with `create`, a new
        one (and, for an unknown namespace, the namespace: private, owned by the admins team,
        origin `registry`, with its name claim) added to the batch. None when it cannot be
        placed."""
        rid = repository_id(full_name)
        if rid in batch.repositories:
            return batch.repositories[rid]
        hinted_new = create and batch.unknown is not None and batch.unknown(full_name)
        found = None if hinted_new else self._find_in(batch, Repository, rid)
        # Only an empty repository can have lost its namespace: one holding tags keeps it from
        # being deleted or renamed (Namespace.refuse_if_holding), so most pushes ask nothing.
        if found is not None and (not create or found.tags
                                  or self._in_its_namespace(found, batch)):
            batch.repositories[rid] = found
            batch.had_tags[rid] = bool(found.tags)
            return found
        if not create:
            return None
        if batch.registered is None:
            batch.registered = (self._find_in(batch, Registry, REGISTRY_ID) is not None
                                if REGISTRY_ID in batch.loaded
                                else REGISTRY_ID in self.repository)
        if not batch.registered:
            return None
        ns_name, _ = split_repository(full_name)
        namespace = batch.namespaces.get(ns_name) or self._namespace_named(ns_name, batch)
        if namespace is None:
            if ns_name == GLOBAL_NAMESPACE_NAME or not NAMESPACE_NAME.fullmatch(ns_name):
                return None
            namespace = Namespace.create(
                name=ns_name, kind=NamespaceKind.TEAM, team_id=ADMINS_TEAM_ID,
                visibility=Visibility.PRIVATE, origin="registry",
                description="Created because the registry reported a push into it.")
            # The name may have been a deleted namespace's: take its released claim again.
            batch.created.extend([namespace, self._claim("namespace", ns_name, namespace.id)])
        batch.namespaces[ns_name] = namespace
        if found is not None:
            # Its namespace was deleted or renamed while it stayed empty: the name's
            # repository starts afresh in the namespace holding the name now.
            found.recreate(namespace_id=namespace.id, namespace_name=namespace.name,
                           origin="registry")
            repo = found
        else:
            repo = Repository.create(namespace_id=namespace.id, namespace_name=namespace.name,
                                     full_name=full_name, origin="registry")
        batch.repositories[rid] = repo
        batch.had_tags[rid] = False
        return repo

    def _in_its_namespace(self, repo: Repository, batch: _NoticeBatch) -> bool:
        """Whether the namespace holding the repository's path now is the repository's own
        (not so once that one was deleted or renamed, while the repository was empty). The
        name's claim tells (deleting or renaming a namespace releases it in the same save):
        one read per namespace and batch, not two."""
        ns_name, _ = split_repository(repo.full_name)
        live = batch.namespaces.get(ns_name)
        if live is not None:
            return live.id == repo.namespace_id
        if ns_name not in batch.name_owners:
            claim = self._find_in(batch, NameClaim, claim_id("namespace", ns_name))
            batch.name_owners[ns_name] = claim.owner_id if claim is not None else None
        owner = batch.name_owners[ns_name]
        if owner is None:
            # The global namespace is never deleted; another name is free again.
            return ns_name == GLOBAL_NAMESPACE_NAME
        return owner == repo.namespace_id

    def _note_occupancy(self, batch: _NoticeBatch) -> None:
        """Record on each namespace which repositories started or stopped holding tags, and on
        the registry which namespaces did (the guards of renames, deletions and hostname changes
        read these, and conflict with the push on their versions)."""
        namespaces: dict[UUID, Namespace] = {ns.id: ns for ns in batch.namespaces.values()}
        was_holding: dict[UUID, bool] = {}
        for rid, repo in batch.repositories.items():
            holds = bool(repo.tags)
            if holds == batch.had_tags.get(rid, False):
                continue
            ns = self._holder_of(repo, batch, namespaces)
            if ns is None:
                continue
            was_holding.setdefault(ns.id, bool(ns.holding))
            if holds:
                ns.repository_populated(repo.full_name)
            else:
                ns.repository_emptied(repo.full_name)
            if ns.pending_events and ns not in batch.occupancy:
                batch.occupancy.append(ns)
        registry: Registry | None = None
        for namespace_id, before in was_holding.items():
            now = bool(namespaces[namespace_id].holding)
            if now == before:
                continue
            registry = registry or self._find_in(batch, Registry, REGISTRY_ID)
            if registry is None:
                return
            if now:
                registry.namespace_populated(str(namespace_id))
            else:
                registry.namespace_emptied(str(namespace_id))
        if registry is not None and registry.pending_events:
            batch.occupancy.append(registry)

    def _holder_of(self, repo: Repository, batch: _NoticeBatch,
                   namespaces: dict[UUID, Namespace]) -> Namespace | None:
        """The live namespace that holds `repo`: the one its path names now (a namespace
        deleted and created again under the same name is a new aggregate), else its own."""
        ns_name, _ = split_repository(repo.full_name)
        ns = batch.namespaces.get(ns_name) or self._namespace_named(ns_name, batch)
        if ns is None or ns.deleted:
            assert repo.namespace_id is not None
            ns = self._find_in(batch, Namespace, repo.namespace_id)
            if ns is None or ns.deleted:
                return None
        # One instance per namespace in the batch, so its events are recorded in order.
        return namespaces.setdefault(ns.id, ns)

    def repositories_holding_tags(self, namespace_ids: set[UUID] | None = None, *,
                                  first_only: bool = False) -> list[str]:
        """Repositories (in `namespace_ids`, or anywhere) whose tags are not empty, found by
        reading every repository: for guards over logs written before namespaces recorded
        which of their repositories hold tags. Rare commands only (it reads them all)."""
        # A repository is placed in a namespace when created, and again when recreated in
        # another (Repository.Recreated): either may have placed it in `namespace_ids`.
        topics = [get_topic(Repository.Created), get_topic(Repository.Recreated)]
        held: list[str] = []
        seen: set[UUID] = set()
        start: int | None = None
        while True:
            page = self.recorder.select_notifications(start=start, limit=500, topics=topics,
                                                      inclusive_of_start=False)
            if not page:
                return held
            for notification in page:
                placed = self.mapper.to_domain_event(notification)
                if not isinstance(placed, Repository.Created | Repository.Recreated) or (
                        namespace_ids is not None and placed.namespace_id not in namespace_ids
                ) or placed.originator_id in seen:
                    continue
                repo = self._find(Repository, placed.originator_id)
                if repo is None or (namespace_ids is not None
                                    and repo.namespace_id not in namespace_ids):
                    continue  # placed there once, elsewhere now
                seen.add(placed.originator_id)
                if repo.tags:
                    held.append(repo.full_name)
                    if first_only:
                        return held
            start = page[-1].id

    def _namespace_named(self, name: str, batch: _NoticeBatch | None = None
                         ) -> Namespace | None:
        if batch is None:
            claim = self._find_claim("namespace", name)
        else:
            claim = self._find_in(batch, NameClaim, claim_id("namespace", name))
        if claim is None or claim.owner_id is None:
            return None
        namespace = (self._get(Namespace, claim.owner_id) if batch is None
                     else self._find_in(batch, Namespace, claim.owner_id))
        if namespace is None:
            raise NotFoundError("namespace not found", field="namespace")
        # Deleted between reading the claim and the namespace: the name is free.
        return None if namespace.deleted else namespace

    def _run_claiming(self, command: Callable[[], list[Aggregate]]) -> None:
        # A namespace created by two concurrent pushes: the loser's claim fails; run again and
        # find the winner's namespace.
        for attempt in range(3):
            try:
                self._run(command)
                return
            except NameTakenError:
                if attempt == 2:
                    raise

    # -- what Wharfinger itself does and observes ----------------------------------------------

    def repository_state(self, full_name: str) -> tuple[int, dict[str, str]]:
        """The version (0 if unknown) and tags (tag → digest) of a repository."""
        repo = self._find(Repository, repository_id(full_name))
        return (repo.version, dict(repo.tags)) if repo is not None else (0, {})

    def observe_repository(self, full_name: str, observed: dict[str, tuple[str, str]], *,
                           expected_version: int, remove_missing: bool) -> int | None:
        """Record drift between the registry's tags and ours; None if the repository changed
        since `expected_version` was read (a notification arrived meanwhile: try next round)."""
        recorded: list[int | None] = [0]

        def command() -> list[Aggregate]:
            known = self._find(Repository, repository_id(full_name))
            current = known.version if known is not None else 0
            if current != expected_version:
                recorded[0] = None
                return []
            if current == 0 and not observed:
                return []
            batch = _NoticeBatch()
            repo = self._locate(full_name, create=True, batch=batch)
            if repo is None:
                return []
            recorded[0] = repo.observe(observed, remove_missing=remove_missing)
            if not recorded[0]:
                return []
            self._note_occupancy(batch)
            return batch.aggregates()

        self._run_claiming(command)
        return recorded[0]

    def record_own_deletion(self, full_name: str, *, digest: str = "", tag: str = "") -> list[str]:
        """Record a delete Wharfinger made through the registry API: the manifest `digest` (with
        every tag on it) or `tag` alone. Returns the tags removed; [] if the registry's echo
        of this delete was recorded first (so the fact is recorded once)."""
        removed: list[str] = []

        def command() -> list[Aggregate]:
            rid = repository_id(full_name)
            repo = self._find(Repository, rid)
            if repo is None:
                return []
            batch = _NoticeBatch()
            batch.repositories[rid], batch.had_tags[rid] = repo, bool(repo.tags)
            removed[:] = repo.tags_on(digest) if digest else [tag] if tag in repo.tags else []
            context = own_context("wharfinger")
            changed = (repo.delete_manifest(digest, context) if digest
                       else repo.delete_tag(tag, context))
            if not changed:
                return []
            self._note_occupancy(batch)
            return batch.aggregates()

        self._run(command)
        return removed

    def repository_names(self) -> list[str]:
        """Every repository ever recorded, in order of first appearance."""
        topic = get_topic(Repository.Created)
        names: list[str] = []
        start: int | None = None
        while True:
            page = self.recorder.select_notifications(start=start, limit=500, topics=[topic],
                                                      inclusive_of_start=False)
            if not page:
                return names
            for notification in page:
                names.append(self._get(Repository, UUID(str(notification.originator_id)))
                             .full_name)
            start = page[-1].id
