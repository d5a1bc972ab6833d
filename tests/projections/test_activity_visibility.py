"""Who sees which activity (portus.md §1.13, last paragraph), as a table: each row is an entry,
a viewer and the expected answer. Every row is checked twice: by the pure rule (`can_see`) and by
the SQL filter the store applies (`audience_of`), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from eventstore.location import StoreLocation
from projections.activity.entries import Entry
from projections.activity.store import ActivityStore, Query, open_activity_store
from projections.activity.visibility import Viewer, audience_of, can_see

# The world: member belongs to team T (owning namespace `own`, private); `pub` is a public
# namespace of another team; `other` a private namespace of another team.
T, U = "team-t", "team-u"
OWN, PUB, OTHER = "ns-own", "ns-pub", "ns-other"
VIEWERS = {
    "member": Viewer("member", team_ids=frozenset({T}), namespace_ids=frozenset({OWN}),
                     namespace_names=frozenset({"own"}),
                     public_namespace_ids=frozenset({PUB}),
                     public_namespace_names=frozenset({"pub"})),
    "outsider": Viewer("outsider", public_namespace_ids=frozenset({PUB}),
                       public_namespace_names=frozenset({"pub"})),
    "admin": Viewer("admin", sees_everything=True),
    "auditor": Viewer("auditor", sees_everything=True),
}
NS_NAMES = {OWN: "own", PUB: "pub", OTHER: "other"}


def entry(n: int, type_: str, trackable: str, *, team: str = "", ns: str = "",
          ns_name: str | None = None, owner: str = "") -> Entry:
    return Entry(log="events", position=n, occurred_us=1_000 + n, type=type_,
                 trackable=trackable, actor="someone", sentence=type_, team_id=team,
                 namespace_id=ns, namespace_name=NS_NAMES.get(ns, "") if ns_name is None
                 else ns_name, owner_id=owner)


# (entry, who sees it among member / outsider; admins and auditors see everything)
TABLE: list[tuple[str, Entry, set[str]]] = [
    ("team activity of the member's team", entry(1, "team.add_member", "team", team=T),
     {"member"}),
    ("team activity of another team", entry(2, "team.add_member", "team", team=U), set()),
    ("registry activity", entry(3, "registry.create", "registry"), {"member", "outsider"}),
    ("configuration change", entry(4, "configuration.change", "registry"),
     {"member", "outsider"}),
    ("namespace activity of an own namespace", entry(5, "namespace.create", "namespace",
                                                     team=T, ns=OWN), {"member"}),
    ("namespace created, public, other team", entry(6, "namespace.create", "namespace",
                                                    team=U, ns=PUB), set()),
    ("visibility change of a public namespace",
     entry(7, "namespace.change_visibility", "namespace", team=U, ns=PUB),
     {"member", "outsider"}),
    ("visibility change of a private namespace",
     entry(8, "namespace.change_visibility", "namespace", team=U, ns=OTHER), set()),
    ("push into an own namespace", entry(9, "repository.push", "repository", ns=OWN),
     {"member"}),
    ("push into a public namespace", entry(10, "repository.push", "repository", ns=PUB),
     {"member", "outsider"}),
    ("push into another private namespace",
     entry(11, "repository.push", "repository", ns=OTHER), set()),
    ("pull fact naming a public namespace only by name",
     entry(12, "repository.pull", "repository", ns="", ns_name="pub"), {"member", "outsider"}),
    ("pull fact naming an own namespace only by name",
     entry(13, "repository.pull", "repository", ns="", ns_name="own"), {"member"}),
    ("webhook in an own namespace", entry(14, "webhook.create", "webhook", ns=OWN),
     {"member"}),
    ("webhook in a public namespace", entry(15, "webhook.create", "webhook", ns=PUB), set()),
    ("the member's own application token",
     entry(16, "application_token.create", "application_token", owner="member"), {"member"}),
    ("someone else's application token",
     entry(17, "application_token.create", "application_token", owner="x"), set()),
    ("the member's token decision", entry(18, "token.issue", "token", owner="member"),
     {"member"}),
    ("a failed login at the member's account",
     entry(19, "user.login_failed", "user", owner="member"), {"member"}),
    ("a failed login for an unknown name", entry(20, "user.login_failed", "user", owner=""),
     set()),
    ("the member made admin", entry(21, "user.admin_granted", "user", owner="member"),
     {"member"}),
    ("another user disabled", entry(22, "user.disabled", "user", owner="x"), set()),
    ("an unmapped event type", entry(23, "event.Gadget.Made", "other"), set()),
]


@pytest.mark.parametrize(("case", "the_entry", "seen_by"), TABLE, ids=[t[0] for t in TABLE])
@pytest.mark.parametrize("viewer", sorted(VIEWERS))
def test_the_rule(case: str, the_entry: Entry, seen_by: set[str], viewer: str) -> None:
    expected = viewer in seen_by or viewer in ("admin", "auditor")
    assert can_see(VIEWERS[viewer], the_entry) is expected


@pytest.fixture
def store(location: StoreLocation) -> Iterator[ActivityStore]:
    store = open_activity_store(location)
    try:
        # What the projector records beside the entries: which namespaces are public now
        store.write("events", [e for _, e, _ in TABLE], after=0, upto=len(TABLE),
                    public={PUB: NS_NAMES[PUB], OTHER: None})
        yield store
    finally:
        store.close()


def test_the_store_applies_the_same_rule(store: ActivityStore) -> None:
    for name, viewer in VIEWERS.items():
        shown = {e.position for e in store.page(Query(limit=100), audience_of(viewer))}
        expected = {e.position for case, e, seen_by in TABLE
                    if name in seen_by or viewer.sees_everything}
        assert shown == expected, name


def seen(name: str) -> list[int]:
    """Positions `name` may see, newest first (the table's entries are in time order)."""
    viewer = VIEWERS[name]
    return sorted((e.position for _, e, seen_by in TABLE
                   if name in seen_by or viewer.sees_everything), reverse=True)


@pytest.mark.parametrize("name", sorted(VIEWERS))
def test_pages_of_two_follow_the_cursor_through_exactly_what_the_viewer_sees(
        store: ActivityStore, name: str) -> None:
    audience, shown, before = audience_of(VIEWERS[name]), [], None
    while True:
        page = store.page(Query(limit=2, before=before), audience)
        shown.extend(e.position for e in page)
        if len(page) < 2:
            break
        before = (page[-1].occurred_us, page[-1].log, page[-1].position)
    assert shown == seen(name)


@pytest.mark.parametrize("name", sorted(VIEWERS))
@pytest.mark.parametrize("namespace", ["own", "pub", "other"])
def test_a_namespace_filter_applies_the_rule_too(store: ActivityStore, name: str,
                                                 namespace: str) -> None:
    # A filter on a column is served by that column's index, checking visibility row by row
    shown = [e.position for e in store.page(Query(namespace=namespace, limit=100),
                                            audience_of(VIEWERS[name]))]
    in_namespace = {e.position for _, e, _ in TABLE if e.namespace_name == namespace}
    assert shown == [p for p in seen(name) if p in in_namespace]


def test_a_viewer_in_very_many_teams_sees_the_same(store: ActivityStore) -> None:
    # More audience keys than are worth one scan each: the store filters one scan instead
    many = replace(VIEWERS["member"], team_ids=VIEWERS["member"].team_ids
                   | {f"team-{i}" for i in range(200)})
    shown = [e.position for e in store.page(Query(limit=100), audience_of(many))]
    assert shown == seen("member")


def test_a_namespace_made_private_hides_what_only_its_publicity_showed(
        store: ActivityStore) -> None:
    store.write("events", [], after=len(TABLE), upto=len(TABLE) + 1, public={PUB: None})
    shown = [e.position for e in store.page(Query(limit=100), audience_of(VIEWERS["outsider"]))]
    assert shown == [4, 3]  # the registry entries only
    assert store.public_namespaces() == set()


@pytest.mark.parametrize("name", sorted(VIEWERS))
@pytest.mark.parametrize("types", [("team",), ("registry",), ("configuration.change",),
                                   ("namespace",), ("repository.push", "repository.pull"),
                                   ("webhook",), ("application_token", "token"), ("user",),
                                   ("event",), ("unmapped",), ("team", "repository")])
def test_a_type_filter_applies_the_rule_too(store: ActivityStore, name: str,
                                            types: tuple[str, ...]) -> None:
    # Scans that cannot hold the types asked for are skipped: none that could is
    shown = [e.position for e in store.page(Query(types=types, limit=100),
                                            audience_of(VIEWERS[name]))]
    of_type = {e.position for _, e, _ in TABLE
               if e.type in types or e.type.partition(".")[0] in types}
    assert shown == [p for p in seen(name) if p in of_type]
