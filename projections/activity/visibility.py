"""Who sees which activity: Portus's `PublicActivity::ActivityPolicy` (portus.md §1.13, last
paragraph), extended to the entries Portus never recorded.

Portus: team activities of the viewer's teams; every registry activity; namespace activities of
namespaces owned by the viewer's teams, plus visibility changes of public namespaces; repository
activities in the viewer's teams' namespaces or in public namespaces; application-token
activities of the viewer's own tokens; webhook activities in the viewer's teams' namespaces.
Wharfinger adds: the entries about a user (account changes, logins, failed logins, token
decisions) are the user's own. Admins and auditors see everything. As in Portus, visibility is
decided by current membership and visibility, not by what they were when the entry was made.
Generic entries (event types not yet mapped) are for admins and auditors only.

`can_see` is the rule for one entry. The store applies the same rule without scanning the feed:
each entry is written with its **audience key** (who sees it whatever the namespaces' visibility:
`everyone`, `team:<id>`, `ns:<id>`, `user:<id>`; none for admins-only entries) and, when a public
namespace would reveal it to anyone, that namespace's **public key**. A viewer is a short list of
keys (`Audience`); "is this namespace public now" is a lookup in the feed's own table of public
namespaces, which the projector keeps in step with the entries (so it is as current as the feed).
A page is then a merge of a few index scans that each start at the newest entry (store.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.values import Visibility
from projections.activity.entries import (
    APPLICATION_TOKEN,
    NAMESPACE,
    REGISTRY,
    REPOSITORY,
    TEAM,
    TOKEN,
    USER,
    WEBHOOK,
    Entry,
    trackable_of,
)
from projections.permissions import PermissionIndex


@dataclass(frozen=True)
class Viewer:
    user_id: str
    sees_everything: bool = False
    team_ids: frozenset[str] = field(default_factory=frozenset)
    namespace_ids: frozenset[str] = field(default_factory=frozenset)
    """Namespaces owned by the viewer's teams."""
    namespace_names: frozenset[str] = field(default_factory=frozenset)
    public_namespace_ids: frozenset[str] = field(default_factory=frozenset)
    public_namespace_names: frozenset[str] = field(default_factory=frozenset)


def viewer_of(index: PermissionIndex, user_id: object, *, public: bool = True) -> Viewer:
    """The viewer's teams and namespaces from the permission projection (current state); the
    public namespaces too unless `public` is False (the store knows those itself)."""
    user = index.users.get(user_id)  # type: ignore[call-overload]
    if user is None:
        return Viewer(user_id="")
    if user.admin or user.auditor:
        return Viewer(str(user.id), sees_everything=True)
    teams = index.team_ids_of(user.id)
    own = [index.namespaces[n] for t in teams for n in index.namespace_ids_of(t)]
    shown = [ns for ns in index.namespaces.values()
             if ns.visibility is Visibility.PUBLIC] if public else []
    return Viewer(str(user.id), team_ids=frozenset(map(str, teams)),
                  namespace_ids=frozenset(str(ns.id) for ns in own),
                  namespace_names=frozenset(ns.name for ns in own),
                  public_namespace_ids=frozenset(str(ns.id) for ns in shown),
                  public_namespace_names=frozenset(ns.name for ns in shown))


def audience_for(index: PermissionIndex, user_id: object) -> Audience:
    """What a page for this user needs (without the public namespaces: spelling out every one
    of them for each request cost more than the page itself)."""
    return audience_of(viewer_of(index, user_id, public=False))


def can_see(viewer: Viewer, entry: Entry) -> bool:
    """The rule for one entry; `entry_keys` and `audience_of` are the same rule for the store."""
    if viewer.sees_everything:
        return True
    own_ns = (entry.namespace_id in viewer.namespace_ids if entry.namespace_id
              else entry.namespace_name in viewer.namespace_names)
    public_ns = (entry.namespace_id in viewer.public_namespace_ids if entry.namespace_id
                 else entry.namespace_name in viewer.public_namespace_names)
    match entry.trackable:
        case "team":
            return entry.team_id in viewer.team_ids
        case "registry":
            return True
        case "namespace":
            return own_ns or (entry.type == "namespace.change_visibility" and public_ns)
        case "repository":
            return own_ns or public_ns
        case "webhook":
            return own_ns
        case "user" | "application_token" | "token":
            return bool(entry.owner_id) and entry.owner_id == viewer.user_id
    return False


EVERYONE = "everyone"


@dataclass(frozen=True)
class Audience:
    """What the store needs to know about a viewer: everything, or the keys they belong to."""

    everything: bool = False
    keys: tuple[str, ...] = ()


EVERYTHING = Audience(everything=True)


def namespace_key(namespace_id: str, namespace_name: str) -> str:
    """An entry names its namespace by id, or only by name (pull facts): the rule compares
    whichever it has, so the key is whichever it has."""
    return f"ns:{namespace_id}" if namespace_id else f"nsname:{namespace_name}"


def public_keys(namespace_id: str, name: str) -> tuple[str, str]:
    """The keys under which a public namespace reveals entries (by id, and by current name)."""
    return namespace_key(namespace_id, ""), namespace_key("", name)


def audience_of(viewer: Viewer) -> Audience:
    """The viewer's keys; public namespaces are not among them (the store knows those)."""
    if viewer.sees_everything:
        return EVERYTHING
    keys = [EVERYONE]
    if viewer.user_id:
        keys.append(f"user:{viewer.user_id}")
    keys.extend(f"team:{t}" for t in sorted(viewer.team_ids))
    keys.extend(namespace_key(n, "") for n in sorted(viewer.namespace_ids))
    keys.extend(namespace_key("", n) for n in sorted(viewer.namespace_names))
    return Audience(keys=tuple(keys))


def entry_keys(entry: Entry) -> tuple[str, str]:
    """`can_see` for the store: (audience key, public key), '' where there is none. A viewer
    sees the entry if they hold its audience key, or if its public key names a namespace that
    is public now."""
    return keys_of(entry.trackable, entry.type, entry.team_id, entry.owner_id,
                   entry.namespace_id, entry.namespace_name)


def keys_of(trackable: str, kind: str, team_id: str, owner_id: str, namespace_id: str,
            namespace_name: str) -> tuple[str, str]:
    """`entry_keys` of an entry with these fields."""
    match trackable:
        case "team":
            return (f"team:{team_id}" if team_id else "", "")
        case "registry":
            return EVERYONE, ""
        case "namespace":
            ns = namespace_key(namespace_id, namespace_name)
            return ns, ns if kind == "namespace.change_visibility" else ""
        case "repository":
            ns = namespace_key(namespace_id, namespace_name)
            return ns, ns
        case "webhook":
            return namespace_key(namespace_id, namespace_name), ""
        case "user" | "application_token" | "token":
            return (f"user:{owner_id}" if owner_id else "", "")
    return "", ""


_HOLDS = {EVERYONE: {REGISTRY}, "team": {TEAM}, "user": {USER, APPLICATION_TOKEN, TOKEN},
          "ns": {NAMESPACE, REPOSITORY, WEBHOOK}, "nsname": {NAMESPACE, REPOSITORY, WEBHOOK}}
"""Key kind -> the trackables of the entries `entry_keys` files under it."""
_PUBLIC_HOLDS = {REPOSITORY, NAMESPACE}


def scans_for(audience: Audience, types: tuple[str, ...]) -> tuple[tuple[str, ...], bool]:
    """The keys worth a scan for entries of `types` (all of them when no types are asked
    for), and whether the public namespaces' scan is: a scan that cannot hold the types
    asked for would read its whole index to find nothing."""
    trackables = {trackable_of(kind) for kind in types}
    if not types or None in trackables:
        return audience.keys, True
    keys = tuple(k for k in audience.keys if _HOLDS[k.partition(":")[0]] & trackables)
    return keys, bool(_PUBLIC_HOLDS & trackables)
