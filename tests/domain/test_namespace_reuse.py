"""A deleted (or renamed) namespace's repositories do not come back under a new namespace of
the same name (both backends): a push into such a repository records `Repository.Recreated`
and the namespace holding the name now gets it afresh (no old tags or description), as Portus
and Harbor create a new repository there; the repositories catalog (projections.repositories)
gives it a new id and lists it there."""

from __future__ import annotations

from uuid import UUID

import pytest

from domain.application import Wharfinger
from domain.namespaces import Namespace, NamespaceNotEmptyError
from domain.repositories import Repository, repository_id
from eventstore.reader import read_after
from projections.repositories import RepositoryCatalog
from projections.social import Social
from tests.domain.test_repository_guards import namespace, notice

DIGEST_2 = "sha256:" + "b" * 64


def repo(app: Wharfinger, full_name: str) -> Repository:
    return app._get(Repository, repository_id(full_name))


def catalog_of(app: Wharfinger) -> RepositoryCatalog:
    catalog = RepositoryCatalog()
    for logged in read_after(app, 0, 10_000):
        catalog.apply(logged)
    return catalog


def social_of(app: Wharfinger) -> Social:
    social = Social()
    for logged in read_after(app, 0, 10_000):
        social.apply(logged)
    return social


def emptied_and_gone(app: Wharfinger) -> UUID:
    """web/app pushed, described, emptied; then its namespace `web` deleted. Its id."""
    app.record_notice(notice("push", "web/app"))
    app.describe_repository("web/app", "the old app")
    app.record_notice(notice("delete", "web/app", tag="", digest="sha256:" + "a" * 64))
    old = namespace(app, "web")
    app.delete_namespace(old.id)
    return old.id


def recreations(app: Wharfinger, full_name: str) -> list[Repository.Recreated]:
    return [e for e in app.repository.event_store.get(repository_id(full_name))
            if isinstance(e, Repository.Recreated)]


def test_a_new_namespace_of_a_deleted_ones_name_gets_its_repositories_afresh(
        app: Wharfinger) -> None:
    old_id = emptied_and_gone(app)
    team_id = app._get(Namespace, old_id).team_id
    assert team_id is not None
    before = catalog_of(app).by_full_name("web/app")
    assert before is not None and before.namespace_id == old_id
    # A new namespace takes the name; a push into web/app lands in it, as a new repository.
    new = app.create_namespace(name="web", team_id=team_id)
    app.record_notice(notice("push", "web/app", tag="v2", digest=DIGEST_2))
    again = repo(app, "web/app")
    assert again.namespace_id == new.id
    assert again.tags == {"v2": DIGEST_2} and again.description == ""
    assert [(e.namespace_id, e.namespace_name) for e in recreations(app, "web/app")] == [
        (new.id, "web")]
    # The new namespace holds it (its guards see it); the deleted one is left as it was.
    assert namespace(app, "web").holding == ["web/app"]
    assert app._get(Namespace, old_id).holding == []
    assert app.repositories_holding_tags({new.id}) == ["web/app"]
    assert app.repositories_holding_tags({old_id}) == []
    with pytest.raises(NamespaceNotEmptyError):
        app.delete_namespace(new.id)
    # The catalog: a new repository (a new id) in the new namespace; the old one is gone.
    catalog = catalog_of(app)
    listed = [(r.full_name, r.namespace_id, r.description, sorted(r.tags))
              for r in catalog.listed()]
    assert listed == [("web/app", new.id, "", ["v2"])]
    now = catalog.by_full_name("web/app")
    assert now is not None and now.id != before.id and before.id not in catalog.repositories
    # Later pushes go on in the same repository: recreated once.
    app.record_notice(notice("push", "web/app", tag="v3", digest=DIGEST_2))
    assert len(recreations(app, "web/app")) == 1
    assert catalog_of(app).by_full_name("web/app").id == now.id  # type: ignore[union-attr]


def test_a_push_into_a_deleted_namespaces_repository_creates_the_namespace_again(
        app: Wharfinger) -> None:
    old_id = emptied_and_gone(app)
    # Nobody created `web` again: the push does, as for any repository in an unknown
    # namespace (private, the admins', origin registry), and the repository starts there.
    app.record_notice(notice("push", "web/app", tag="v2", digest=DIGEST_2))
    created = namespace(app, "web")
    assert created.id != old_id and created.holding == ["web/app"]
    assert repo(app, "web/app").namespace_id == created.id
    assert repo(app, "web/app").description == ""


def test_a_push_under_a_renamed_namespaces_old_name_does_not_land_in_it(
        app: Wharfinger) -> None:
    app.record_notice(notice("push", "web/app"))
    app.record_notice(notice("delete", "web/app", tag="", digest="sha256:" + "a" * 64))
    web = namespace(app, "web")
    app.update_namespace(web.id, name="web2")
    # web/app is not under web2 (the registry keeps it under web/): a push there places it in
    # a namespace `web` again, and web2 holds nothing.
    app.record_notice(notice("push", "web/app", tag="v2", digest=DIGEST_2))
    assert repo(app, "web/app").namespace_id == namespace(app, "web").id != web.id
    assert namespace(app, "web2").holding == []
    catalog = catalog_of(app)
    assert [(r.full_name, r.namespace_name) for r in catalog.listed()] == [("web/app", "web")]


def test_a_repository_still_in_its_namespace_is_never_recreated(app: Wharfinger) -> None:
    app.record_notice(notice("push", "web/app"))
    app.describe_repository("web/app", "kept")
    app.record_notice(notice("delete", "web/app", tag="", digest="sha256:" + "a" * 64))
    app.record_notice(notice("push", "web/app", tag="v2", digest=DIGEST_2))
    # In the global namespace too (its repositories have no namespace in their path).
    app.record_notice(notice("push", "busybox"))
    app.record_notice(notice("push", "busybox", tag="v2", digest=DIGEST_2))
    assert recreations(app, "web/app") == [] and recreations(app, "busybox") == []
    assert repo(app, "web/app").description == "kept"
    catalog = catalog_of(app)
    assert [r.id for r in catalog.listed()] == [1, 2]


def test_stars_and_comments_go_with_the_old_repository(app: Wharfinger) -> None:
    owner = app.user_named("owner")
    other = app.register_user(username="other", email="other@example.org", password_hash=None)
    # Stars and comments on web/app while `web` holds it; one star taken back and given again.
    app.record_notice(notice("push", "web/app"))
    assert app.toggle_star(owner.id, "web/app") is True
    assert app.toggle_star(other.id, "web/app") is True
    assert app.toggle_star(other.id, "web/app") is False
    assert app.toggle_star(other.id, "web/app") is True
    old_comment = app.post_comment(owner.id, "web/app", "the old app")
    social = social_of(app)
    assert social.stars["web/app"] == {owner.id, other.id}
    assert [c.body for c in social.comments_on("web/app")] == ["the old app"]
    # Emptied, its namespace deleted, and pushed into again: a new repository, unstarred and
    # without comments.
    app.record_notice(notice("delete", "web/app", tag="", digest="sha256:" + "a" * 64))
    app.delete_namespace(namespace(app, "web").id)
    app.record_notice(notice("push", "web/app", tag="v2", digest=DIGEST_2))
    social = social_of(app)
    assert social.stars.get("web/app", set()) == set() and social.comments_on("web/app") == []
    assert social.starred_by(owner.id) == set()
    # Starring it now stars the new one (the old star does not answer for it), and taking the
    # old comment away changes nothing on the new one.
    assert app.toggle_star(other.id, "web/app") is True
    new_comment = app.post_comment(owner.id, "web/app", "the new app")
    app.delete_comment(old_comment, by=owner.id, admin=False)
    social = social_of(app)
    assert social.stars["web/app"] == {other.id}
    assert [(c.id, c.body) for c in social.comments_on("web/app")] == [
        (new_comment, "the new app")]
    assert app.toggle_star(other.id, "web/app") is False
    assert social_of(app).stars["web/app"] == set()
