"""Several aggregates read at once (eventstore.load_many), on SQLite and PostgreSQL: each exactly
as the library's `repository.get` returns it (cached or not, written by this node or another),
never the cached instance itself, and on PostgreSQL in one statement for all of them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from domain.application import Wharfinger
from domain.names import NameClaim, claim_id
from domain.notifications import RegistryNotice
from domain.repositories import Repository, repository_id
from eventstore.load_many import load_many
from eventstore.location import StoreLocation
from eventstore.open import open_log

OCI = "application/vnd.oci.image.manifest.v1+json"


def push(event_id: str, repository: str, tag: str, n: int) -> RegistryNotice:
    return RegistryNotice(
        event_id=event_id, action="push", repository=repository, tag=tag,
        digest=f"sha256:{n:064x}", media_type=OCI, manifest_size=10, image_size=100,
        actor="alice", timestamp="", request_id="", client_addr="", user_agent="", method="",
        registry_host="", instance_id="", source_addr="", from_repository="")


@pytest.fixture
def nodes(location: StoreLocation) -> Iterator[tuple[Wharfinger, Wharfinger]]:
    """Two applications on one store, as two nodes of a deployment."""
    one = open_log(location, Wharfinger, "events")
    one.register_registry(name="main", hostname="registry.test")
    other = open_log(location, Wharfinger, "events")
    yield one, other
    other.close()
    one.close()


def state(aggregate: object) -> dict[str, object]:
    return dict(vars(aggregate))


def test_each_aggregate_is_what_the_repository_would_return(
        nodes: tuple[Wharfinger, Wharfinger]) -> None:
    one, other = nodes
    one.record_notices([push("a1", "team/app", "v1", 1), push("b1", "team/db", "v1", 2)])
    app, db = repository_id("team/app"), repository_id("team/db")
    claim = claim_id("namespace", "team")
    missing = uuid.uuid4()
    cold = load_many(one, [app, db, claim, missing, app])
    assert list(cold) == [app, db, claim, missing]
    assert cold[missing] is None
    for aggregate_id in (app, db, claim):
        assert state(cold[aggregate_id]) == state(one.repository.get(aggregate_id))
    # Now cached on `one`; another node writes after that: `one` sees it (fast-forward).
    other.record_notices([push("a2", "team/app", "v2", 3)])
    warm = load_many(one, [app, db, claim])
    repo = warm[app]
    assert isinstance(repo, Repository) and set(repo.tags) == {"v1", "v2"}
    assert state(repo) == state(other.repository.get(app))
    assert state(warm[db]) == state(cold[db])
    owner = warm[claim]
    assert isinstance(owner, NameClaim) and owner.owner_id is not None


def test_what_it_returns_is_a_copy_of_its_own(nodes: tuple[Wharfinger, Wharfinger]) -> None:
    one, _ = nodes
    one.record_notices([push("a1", "team/app", "v1", 1)])
    app = repository_id("team/app")
    first = load_many(one, [app])[app]
    assert isinstance(first, Repository)
    first.tags["changed-in-memory"] = "sha256:x"  # a command's change it never saved
    again = load_many(one, [app])[app]
    assert isinstance(again, Repository) and set(again.tags) == {"v1"}
    assert again is not first
    assert set(one.repository.get(app).tags) == {"v1"}


def test_postgresql_reads_them_all_in_one_statement(
        backend: str, nodes: tuple[Wharfinger, Wharfinger]) -> None:
    """On SQLite (reads are local) it is the library's get, one by one: same results."""
    one, other = nodes
    names = [f"team/repo{n}" for n in range(6)]
    one.record_notices([push(f"p{n}", name, "v1", n) for n, name in enumerate(names)])
    ids = [repository_id(name) for name in names]
    load_many(one, ids[:3])  # half of them cached
    other.record_notices([push("late", names[0], "v2", 9)])
    datastore = one.recorder.datastore  # type: ignore[attr-defined]
    checkouts: list[int] = []
    get_connection = datastore.get_connection

    def counting(*args: object, **kwargs: object) -> object:
        checkouts.append(1)
        return get_connection(*args, **kwargs)

    datastore.get_connection = counting
    try:
        loaded = load_many(one, ids)
    finally:
        datastore.get_connection = get_connection
    if backend == "postgres":
        assert len(checkouts) == 1
    assert all(isinstance(loaded[i], Repository) for i in ids)
    first = loaded[ids[0]]
    assert isinstance(first, Repository) and set(first.tags) == {"v1", "v2"}
