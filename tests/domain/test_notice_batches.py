"""Registry notices recorded in batches (one transaction for many), on both backends: order within
a batch, duplicates, and a wrong "no such repository" hint never losing or doubling a fact."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate

from domain.application import Wharfinger
from domain.names import NameClaim, claim_id
from domain.namespaces import Namespace
from domain.notifications import RegistryNotice
from domain.repositories import NotificationReceipt, Repository, notice_id, repository_id
from eventstore.load_many import load_many
from eventstore.location import StoreLocation
from eventstore.open import open_log

OCI = "application/vnd.oci.image.manifest.v1+json"


def notice(event_id: str, action: str, repository: str, *, tag: str = "", n: int = 1,
           actor: str = "alice", media_type: str = OCI) -> RegistryNotice:
    return RegistryNotice(
        event_id=event_id, action=action, repository=repository, tag=tag,
        digest=f"sha256:{n:064x}", media_type=media_type if action != "delete" else "",
        manifest_size=10, image_size=100, actor=actor, timestamp="", request_id="",
        client_addr="", user_agent="", method="", registry_host="", instance_id="",
        source_addr="", from_repository="")


@pytest.fixture
def app(location: StoreLocation) -> Iterator[Wharfinger]:
    store = open_log(location, Wharfinger, "events")
    store.register_registry(name="main", hostname="registry.test")
    yield store
    store.close()


def kinds(app: Wharfinger, full_name: str) -> list[str]:
    return [type(e).__name__ for e in app.events.get(repository_id(full_name))]


def test_a_batch_applies_in_order_and_records_each_event_once(app: Wharfinger) -> None:
    outcomes = app.record_notices([
        notice("e1", "push", "team/app", tag="v1", n=1),
        notice("e2", "push", "team/app", tag="v2", n=2, actor="bob"),
        notice("e1", "push", "team/app", tag="v1", n=1),  # the same event twice in one batch
        notice("e3", "delete", "team/app", n=1),  # deletes v1, pushed above in the same batch
        notice("e4", "delete", "team/other", n=9),  # nothing to delete
        notice("e5", "push", "team/app", n=3, media_type="application/octet-stream"),  # a blob
    ])
    assert outcomes == ["recorded", "recorded", "duplicate", "recorded", "ignored", "ignored"]
    assert kinds(app, "team/app") == ["Created", "TagPushed", "TagPushed", "ManifestDeleted"]
    events = list(app.events.get(repository_id("team/app")))
    assert [e.actor for e in events[1:]] == ["alice", "bob", "alice"]
    assert events[3].tags == ["v1"]
    # Each recorded event left its receipt; the ignored ones did not.
    for event_id, receipt in (("e1", True), ("e2", True), ("e3", True), ("e4", False),
                              ("e5", False)):
        assert (notice_id(event_id) in app.repository) is receipt
    # Delivered again: every one is a duplicate, nothing new is stored.
    head = app.recorder.max_notification_id()
    again = app.record_notices([notice("e2", "push", "team/app", tag="v2", n=2),
                                notice("e3", "delete", "team/app", n=1)])
    assert again == ["duplicate", "duplicate"]
    assert app.recorder.max_notification_id() == head


def test_a_wrong_no_such_repository_hint_neither_loses_nor_doubles(app: Wharfinger) -> None:
    assert app.record_notices([notice("e1", "push", "team/app", tag="v1", n=1)]) == [
        "recorded"]
    # The hint says team/app is new (a read model that has not seen it yet): the creation is
    # refused by the store and the batch is recorded again with lookups.
    outcomes = app.record_notices([notice("e2", "push", "team/app", tag="v2", n=2),
                                   notice("e3", "push", "team/new", tag="v1", n=3)],
                                  unknown=lambda name: True)
    assert outcomes == ["recorded", "recorded"]
    assert kinds(app, "team/app") == ["Created", "TagPushed", "TagPushed"]
    assert kinds(app, "team/new") == ["Created", "TagPushed"]
    repo = app.repository.get(repository_id("team/app"))
    assert isinstance(repo, Repository) and repo.tags == {"v1": f"sha256:{1:064x}",
                                                         "v2": f"sha256:{2:064x}"}
    receipt = app.repository.get(notice_id("e2"))
    assert isinstance(receipt, NotificationReceipt)


def test_a_namespace_holding_many_repositories_is_not_replayed_for_every_push(
        app: Wharfinger) -> None:
    """Each repository's first tag adds an event to its namespace; a push into a new repository
    loads the namespace as a cached copy brought up to date, not by replaying all of them."""
    for n in range(40):
        assert app.record_notices([notice(f"p{n}", "push", f"team/repo{n}", tag="v1",
                                          n=n)]) == ["recorded"]
    rows: list[int] = []
    select = app.recorder.select_events

    def counting(*args: object, **kwargs: object) -> object:
        found = select(*args, **kwargs)  # type: ignore[arg-type]
        rows.append(len(found))
        return found

    app.recorder.select_events = counting  # type: ignore[method-assign]
    assert app.record_notices([notice("last", "push", "team/repo-last", tag="v1", n=99)]) == [
        "recorded"]
    app.recorder.select_events = select  # type: ignore[method-assign]
    claim = app.repository.get(claim_id("namespace", "team"))
    assert isinstance(claim, NameClaim) and claim.owner_id is not None
    assert len(select(claim.owner_id)) > 40  # created, then 41 repositories populated it
    assert sum(rows) < 20, rows


def test_a_batch_reads_what_it_needs_at_once(backend: str, app: Wharfinger) -> None:
    """With a loader, the aggregates a batch needs are read before it is applied (on
    PostgreSQL one statement, not a read per aggregate), and the outcome is the same."""
    assert app.record_notices([notice("e1", "push", "team/app", tag="v1", n=1),
                               notice("e2", "push", "team/db", tag="v1", n=2)]) == [
        "recorded", "recorded"]
    reads: list[UUID] = []
    select = app.recorder.select_events

    def counting(*args: object, **kwargs: object) -> object:
        reads.append(UUID(str(kwargs.get("originator_id", args[0] if args else ""))))
        return select(*args, **kwargs)  # type: ignore[arg-type]

    loads: list[list[object]] = []

    def load(ids: Sequence[UUID]) -> dict[UUID, Aggregate | None]:
        loads.append(list(ids))
        return load_many(app, ids)

    app.recorder.select_events = counting  # type: ignore[method-assign]
    try:
        outcomes = app.record_notices([
            notice("e3", "delete", "team/app", n=1),  # empties team/app
            notice("e4", "push", "team/db", tag="v2", n=3),
            notice("e5", "push", "team/new", tag="v1", n=4),  # a new repository, hinted
            notice("e6", "push", "other/new", tag="v1", n=5),  # and a new namespace
            notice("e7", "delete", "team/none", n=6),
        ], unknown=lambda name: name.endswith("/new"), load=load)
    finally:
        app.recorder.select_events = select  # type: ignore[method-assign]
    assert outcomes == ["recorded", "recorded", "recorded", "recorded", "ignored"]
    assert len(loads) == 2  # repositories, claims and the registry; then the namespaces
    if backend == "postgres":
        # The one read left: claiming the new namespace's name looks its claim up again
        # (a released name is taken over; domain.application._claim).
        assert reads == [claim_id("namespace", "other")]
    assert kinds(app, "team/app") == ["Created", "TagPushed", "ManifestDeleted"]
    assert kinds(app, "team/db") == ["Created", "TagPushed", "TagPushed"]
    assert kinds(app, "team/new") == ["Created", "TagPushed"]
    assert kinds(app, "other/new") == ["Created", "TagPushed"]
    team = app.repository.get(app.repository.get(claim_id("namespace", "team")).owner_id)
    assert isinstance(team, Namespace)
    assert sorted(team.holding) == ["team/db", "team/new"]
