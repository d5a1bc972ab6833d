"""Guards that depend on what the registry holds, decided by the commands themselves (both
backends): a namespace holding repositories is neither renamed nor deleted, nor its team deleted
without a destination, and the registry's hostname is fixed once repositories exist. A push that
gives a repository its first tag records it on the namespace and the registry in its own save, so
a racing rename, deletion or hostname change conflicts with it and re-checks."""

from __future__ import annotations

import threading
from copy import deepcopy
from uuid import UUID, uuid4

import pytest

from domain.application import Wharfinger
from domain.errors import DomainError, InvalidInputError
from domain.namespaces import Namespace, NamespaceNotEmptyError
from domain.notifications import RegistryNotice
from domain.registries import REGISTRY_ID, Registry
from eventstore.reader import read_after

MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def notice(action: str, repository: str, tag: str = "v1", digest: str = "sha256:" + "a" * 64
           ) -> RegistryNotice:
    return RegistryNotice(
        event_id=str(uuid4()), action=action, repository=repository, tag=tag, digest=digest,
        media_type=MANIFEST, manifest_size=1, image_size=1, actor="owner", timestamp="",
        request_id="", client_addr="", user_agent="", method="PUT",
        registry_host="registry.test:5000", instance_id="", source_addr="", from_repository="")


def namespace(app: Wharfinger, name: str) -> Namespace:
    found = app._namespace_named(name)
    assert found is not None
    return found


def test_a_push_records_what_the_namespace_and_the_registry_hold(app: Wharfinger) -> None:
    assert app.record_notice(notice("push", "web/app")) == "recorded"
    web = namespace(app, "web")
    registry = app._get(Registry, REGISTRY_ID)
    assert web.holding == ["web/app"] and registry.populated == [str(web.id)]
    # A second tag changes nothing there; the last tag going empties both.
    app.record_notice(notice("push", "web/app", tag="v2"))
    assert app._get(Namespace, web.id).version == web.version
    app.record_notice(notice("delete", "web/app", tag="", digest="sha256:" + "a" * 64))
    assert namespace(app, "web").holding == []
    assert app._get(Registry, REGISTRY_ID).populated == []


def test_the_commands_refuse_whoever_calls_them(app: Wharfinger) -> None:
    web = namespace(app, "web")
    team_id = web.team_id
    assert team_id is not None
    app.record_notice(notice("push", "web/app"))
    with pytest.raises(NamespaceNotEmptyError) as deleted:
        app.delete_namespace(web.id)
    assert deleted.value.field == "namespace" and "web/app" in deleted.value.message
    with pytest.raises(InvalidInputError) as renamed:
        app.update_namespace(web.id, name="web2")
    assert renamed.value.field == "name"
    with pytest.raises(NamespaceNotEmptyError) as team_gone:
        app.delete_team(team_id, namespace_ids=[web.id])
    assert team_gone.value.field == "new_team"
    with pytest.raises(InvalidInputError) as moved:
        app.update_registry(hostname="elsewhere.test:5000")
    assert moved.value.field == "hostname"
    # What does not orphan images still works.
    app.update_namespace(web.id, description="still editable")
    app.update_registry(use_ssl=True)
    # Emptied, the namespace goes.
    app.record_own_deletion("web/app", digest="sha256:" + "a" * 64)
    app.update_registry(hostname="elsewhere.test:5000")
    app.delete_namespace(web.id)


def test_repositories_recorded_before_namespaces_tracked_them_still_count(
        app: Wharfinger) -> None:
    """A log written before pushes were recorded on namespaces: the guards find its
    repositories by reading them."""
    app.record_notice(notice("push", "web/app"))
    web = namespace(app, "web")
    # Forget what the push recorded on the namespace and registry, as an older log would.
    web.repository_emptied("web/app")
    registry = app._get(Registry, REGISTRY_ID)
    registry.namespace_emptied(str(web.id))
    app.save(web, registry)
    with pytest.raises(NamespaceNotEmptyError):
        app.delete_namespace(web.id)
    with pytest.raises(InvalidInputError):
        app.update_registry(hostname="elsewhere.test:5000")


def race(app: Wharfinger, name: str) -> dict[str, str]:
    """A push of `name/app` and the deletion of namespace `name`, released at the same time."""
    web = namespace(app, "web")
    assert web.team_id is not None
    ns = app.create_namespace(name=name, team_id=web.team_id)
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def push() -> None:
        start.wait()
        outcomes["push"] = app.record_notice(notice("push", f"{name}/app"))

    def delete() -> None:
        start.wait()
        try:
            app.delete_namespace(ns.id)
            outcomes["delete"] = "deleted"
        except DomainError as e:
            outcomes["delete"] = type(e).__name__

    threads = [threading.Thread(target=push), threading.Thread(target=delete)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    outcomes["original"] = str(ns.id)
    return outcomes


@pytest.mark.parametrize("round_", range(6))
def test_a_push_racing_with_a_deletion_never_leaves_a_deleted_namespace_holding_images(
        app: Wharfinger, round_: int) -> None:
    outcomes = race(app, f"race{round_}")
    assert outcomes["push"] == "recorded", outcomes
    # Whatever the order: a deleted namespace holds nothing; if the push came after the
    # deletion, it went into a namespace of that name created for it (origin registry).
    original = app._get(Namespace, UUID(outcomes["original"]))
    assert not (original.deleted and original.holding), outcomes
    holder = namespace(app, f"race{round_}")
    assert not holder.deleted and holder.holding == [f"race{round_}/app"], outcomes
    assert (holder.id == original.id) == (outcomes["delete"] == "NamespaceNotEmptyError")


def test_a_push_landing_between_the_check_and_the_write_is_caught(app: Wharfinger) -> None:
    """The interleaving a check in the web layer let through, made deterministic: the push
    commits after the deletion has read the namespace and checked it, before it saves."""
    web = namespace(app, "web")
    assert web.team_id is not None
    ns = app.create_namespace(name="late", team_id=web.team_id)
    reads = app.repositories_holding_tags
    pushed: list[str] = []

    def push_meanwhile(*args: object, **kwargs: object) -> list[str]:
        found = reads(*args, **kwargs)  # type: ignore[arg-type]
        if not pushed:  # the first attempt: the push lands now
            pushed.append(app.record_notice(notice("push", "late/app")))
        return found

    app.repositories_holding_tags = push_meanwhile  # type: ignore[method-assign]
    with pytest.raises(NamespaceNotEmptyError):
        app.delete_namespace(ns.id)
    assert pushed == ["recorded"]
    assert not app._get(Namespace, ns.id).deleted


def test_a_copy_of_a_namespace_is_a_deep_copy(app: Wharfinger) -> None:
    """Namespace.__deepcopy__ copies `holding` as a list (its names are immutable): the copy a
    command gets equals the cached aggregate, and what the command changes stays in its copy
    (both backends: the namespace comes from the store, through the library's cache)."""
    app.record_notices([notice("push", "team/app"), notice("push", "team/db")])
    namespace = next(a for a in load_namespaces(app) if a.name == "team")
    copy = deepcopy(namespace)
    assert copy == namespace and copy is not namespace
    assert copy.holding == ["team/app", "team/db"] and copy.holding is not namespace.holding
    copy.repository_populated("team/web")
    copy.set_description("changed")
    assert namespace.holding == ["team/app", "team/db"] and namespace.description != "changed"
    assert not namespace.pending_events and len(copy.pending_events) == 2
    again = app.repository.get(namespace.id)  # the cache's copy, untouched by ours
    assert again == namespace


def load_namespaces(app: Wharfinger) -> list[Namespace]:
    found = []
    for logged in read_after(app, 0):
        if type(logged.event).__qualname__ == "Namespace.Created":
            aggregate = app.repository.get(logged.event.originator_id)
            assert isinstance(aggregate, Namespace)
            found.append(aggregate)
    return found
