"""From logged events to activity entries: Portus's activity keys (portus.md §1.13) plus what
Portus never recorded (logins, failed logins, token decisions, admin and auditor changes, users
enabled or disabled, registry and configuration changes), each with a human sentence.

An entry depends only on its event and on the names folded from earlier change-log events
(`Directory`), so building the feed live or replaying it gives the same rows. Facts from the audit
trail carry their names themselves. An event type nobody mapped yet becomes a generic entry that
only admins and auditors see; it never stops the feed.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from domain.access_rules import AccessRulesRecord
from domain.application import Bootstrap
from domain.decisions import ISSUED, TokenRequestDecided
from domain.management import AdminGuard, SwitchesRecord
from domain.names import NameClaim
from domain.namespaces import Namespace
from domain.registries import GLOBAL_NAMESPACE_NAME, Registry
from domain.sessions import Session
from domain.teams import Team
from domain.users import User
from domain.values import Visibility
from domain.verifications import LogsVerified
from eventstore.reader import LoggedEvent

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CHANGE_LOG = "events"
AUDIT_LOG = "audit"

# What an entry is about; visibility hangs on it (projections.activity.visibility).
TEAM, NAMESPACE, REPOSITORY, REGISTRY = "team", "namespace", "repository", "registry"
USER, APPLICATION_TOKEN, TOKEN, WEBHOOK, OTHER = (
    "user", "application_token", "token", "webhook", "other")
TRACKABLE_OF_FAMILY = {"team": TEAM, "namespace": NAMESPACE, "repository": REPOSITORY,
                       "registry": REGISTRY, "configuration": REGISTRY, "user": USER,
                       "application_token": APPLICATION_TOKEN, "token": TOKEN,
                       "webhook": WEBHOOK, "event": OTHER, "audit": OTHER}
"""What the entries of each type family are about (`namespace.delete` is `registry.delete`,
about the registry): lets a page skip the scans that cannot hold the types asked for."""


def trackable_of(kind: str) -> str | None:
    """The trackable of entries of type (or family) `kind`; None for a family not listed."""
    return TRACKABLE_OF_FAMILY.get(kind.partition(".")[0])


@dataclass(frozen=True)
class Entry:
    log: str
    position: int
    occurred_us: int
    """Microseconds since the Unix epoch (UTC): exact, and sorts the same on both backends."""
    type: str
    trackable: str
    actor: str
    sentence: str
    item: str = ""
    """The tracked item's name (Portus's CSV "Item")."""
    owner_id: str = ""
    """The user an entry is about (tokens, logins, account changes): that user may see it."""
    recipient: str = ""
    team_id: str = ""
    team_name: str = ""
    namespace_id: str = ""
    namespace_name: str = ""
    repository: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def occurred_at(self) -> datetime:
        return EPOCH + timedelta(microseconds=self.occurred_us)

    def row(self) -> tuple[Any, ...]:
        return (self.log, self.position, self.occurred_us, self.type, self.trackable, self.actor,
                self.sentence, self.item, self.owner_id, self.recipient, self.team_id,
                self.team_name, self.namespace_id, self.namespace_name, self.repository,
                encode_parameters(self.parameters) if self.parameters else "{}")

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Entry:
        values = dict(zip(COLUMNS, row, strict=True))
        values["parameters"] = json.loads(values["parameters"])
        return cls.of(values)

    @classmethod
    def of(cls, fields: dict[str, Any]) -> Entry:
        """`Entry(**fields)` at a quarter of the cost (a feed rebuild makes millions): a frozen
        dataclass's __init__ sets each field through object.__setattr__; this sets them all at
        once, the defaults included, and the entry is just as frozen afterwards."""
        entry = object.__new__(cls)
        entry.__dict__.update(_DEFAULTS)
        entry.__dict__.update(fields)
        if "parameters" not in fields:
            entry.__dict__["parameters"] = {}
        return entry


_DEFAULTS = {f.name: f.default for f in fields(Entry) if f.default is not MISSING}
COLUMNS = ("log", "position", "occurred_us", "type", "trackable", "actor", "sentence", "item",
           "owner_id", "recipient", "team_id", "team_name", "namespace_id", "namespace_name",
           "repository", "parameters")


encode_parameters = json.JSONEncoder(sort_keys=True, default=str).encode
"""An entry's parameters as stored: one encoder for every row (json.dumps with options builds
a new one per call)."""
_MICROSECOND = timedelta(microseconds=1)


def micros(moment: datetime) -> int:
    return (moment - EPOCH) // _MICROSECOND


@dataclass
class Directory:
    """Names as of the change-log position being described: sentences say `web`, not a UUID."""

    users: dict[UUID, str] = field(default_factory=dict)
    teams: dict[UUID, tuple[str, str]] = field(default_factory=dict)
    """team id -> (name, kind)"""
    namespaces: dict[UUID, tuple[str, UUID]] = field(default_factory=dict)
    """namespace id -> (name, team id)"""
    tokens: dict[UUID, str] = field(default_factory=dict)
    """application token id -> application name"""
    sessions: dict[UUID, UUID] = field(default_factory=dict)
    """console session id -> user id"""
    repositories: dict[UUID, tuple[str, UUID | None]] = field(default_factory=dict)
    """repository id -> (full name, namespace id)"""
    public: set[UUID] = field(default_factory=set)
    """Namespaces public now (the feed's visibility rule needs them: visibility.entry_keys)."""

    def apply(self, event: Any) -> UUID | None:
        """Fold one change-log event in; returns the namespace whose name, visibility or
        existence it changed, if any."""
        if not folds(type(event)):
            return None
        if isinstance(event, Namespace.Created | Namespace.VisibilityChanged):
            self._set_public(event.originator_id, event.visibility == Visibility.PUBLIC)
        elif isinstance(event, Namespace.Deleted):
            self._set_public(event.originator_id, False)
        self._apply(event)
        return event.originator_id if isinstance(event, _NAMESPACE_CHANGES) else None

    def _set_public(self, namespace_id: UUID, public: bool) -> None:
        if public:
            self.public.add(namespace_id)
        else:
            self.public.discard(namespace_id)

    def _apply(self, event: Any) -> None:
        if type(event).__qualname__ in _REPOSITORY_PLACED:
            # Created, or recreated in the namespace now holding its name (same full name).
            full, _ = self.repositories.get(event.originator_id, ("", None))
            self.repositories[event.originator_id] = (
                str(getattr(event, "full_name", "") or full),
                getattr(event, "namespace_id", None))
        elif isinstance(event, User.Registered):
            self.users[event.originator_id] = event.username
        elif isinstance(event, User.ApplicationTokenCreated):
            self.tokens[event.token_id] = event.application
        elif isinstance(event, Session.Started):
            self.sessions[event.originator_id] = event.user_id
        elif isinstance(event, Session.Ended):
            self.sessions.pop(event.originator_id, None)
        elif isinstance(event, Team.Created):
            self.teams[event.originator_id] = (event.name, event.kind)
        elif isinstance(event, Namespace.Created):
            self.namespaces[event.originator_id] = (event.name, event.team_id)
        elif isinstance(event, Namespace.MovedToTeam):
            name, _ = self.namespaces.get(event.originator_id, ("?", event.team_id))
            self.namespaces[event.originator_id] = (name, event.team_id)
        elif isinstance(event, Namespace.Renamed) and event.originator_id in self.namespaces:
            _, team_id = self.namespaces[event.originator_id]
            self.namespaces[event.originator_id] = (event.name, team_id)
        elif isinstance(event, Team.Renamed) and event.originator_id in self.teams:
            _, kind = self.teams[event.originator_id]
            self.teams[event.originator_id] = (event.name, kind)

    def user(self, user_id: UUID | str) -> str:
        if type(user_id) is UUID:
            return self.users.get(user_id) or f"user {user_id}"
        try:
            return self.users.get(UUID(str(user_id)), f"user {user_id}")
        except ValueError:
            return str(user_id)

    def team(self, team_id: UUID) -> str:
        found = self.teams.get(team_id)  # (the fallback's f-string only when needed: a
        return found[0] if found is not None else f"team {team_id}"  # rebuild calls this a lot)


_NAMESPACE_CHANGES = (Namespace.Created, Namespace.VisibilityChanged, Namespace.Renamed,
                      Namespace.Deleted)
_DIRECTORY_EVENTS = (*_NAMESPACE_CHANGES, User.Registered, User.ApplicationTokenCreated,
                     Session.Started, Session.Ended, Team.Created, Team.Renamed,
                     Namespace.MovedToTeam)
"""The events `Directory.apply` folds (and _REPOSITORY_PLACED, matched by name)."""
_REPOSITORY_PLACED = ("Repository.Created", "Repository.Recreated")
"""The events that put a repository in a namespace."""
_FOLDED: dict[type[Any], bool] = {}
"""Event class -> whether the directory folds it (most events it skips: looked up once)."""


def folds(kind: type[Any]) -> bool:
    """Whether `Directory.apply` folds events of this class."""
    folded = _FOLDED.get(kind)
    if folded is None:
        folded = _FOLDED[kind] = (kind.__qualname__ in _REPOSITORY_PLACED
                                  or issubclass(kind, _DIRECTORY_EVENTS))
    return folded


IGNORED_AGGREGATES: tuple[type[Any], ...] = (NameClaim, Bootstrap, AdminGuard)
"""Bookkeeping with nothing to tell a person (a name claimed alongside its owner, the guard
that serialises disabling admins: the user's own Disabled event tells it)."""
IGNORED_NAMES = ("NotificationReceipt.", "Namespace.RepositoryPopulated",
                 "Namespace.RepositoryEmptied", "Registry.NamespacePopulated",
                 "Registry.NamespaceEmptied")
"""The same, for events matched by name (a registry notification's receipt; what a push records
on its namespace and the registry so their guards see it: the push's own entry tells it)."""


def describe(log: str, logged: LoggedEvent, directory: Directory) -> Entry | None:
    """The entry for one logged event (None for pure bookkeeping). Never raises for an unknown
    or oddly shaped event: that becomes a generic entry."""
    fields = describe_fields(log, logged, directory)
    return Entry.of(fields) if fields is not None else None


def describe_fields(log: str, logged: LoggedEvent, directory: Directory) -> Fields | None:
    """`describe`'s entry as the dict of its fields, those left out at their defaults (the
    projector makes stored rows of them without building the Entry: store.row_of)."""
    event = logged.event
    describer = _describer(type(event))
    if describer is _IGNORED:
        return None
    base: dict[str, Any] = {"log": log, "position": logged.position,
            "occurred_us": micros(event.timestamp),
            "actor": str(getattr(event, "actor", "") or "system")}
    try:
        if describer is not None:
            base.update(describer(event, directory))
            return base
    except (AttributeError, KeyError, TypeError, ValueError):
        pass  # a new version of an event we know: fall back to the generic entry
    return _generic(event, base)


def describes(kind: type[Any]) -> bool:
    """Whether events of this class make entries (False: pure bookkeeping)."""
    return _describer(kind) is not _IGNORED


_IGNORED, _UNRESOLVED = object(), object()
_RESOLVED: dict[type[Any], Any] = {}
"""Event class -> its describer, _IGNORED, or None (generic): looked up once per class."""


def _describer(kind: type[Any]) -> Any:
    describer = _RESOLVED.get(kind, _UNRESOLVED)
    if describer is _UNRESOLVED:
        describer = _RESOLVED[kind] = _resolve(kind)
    return describer


def _resolve(kind: type[Any]) -> Any:
    name = kind.__qualname__
    if any(name.startswith(f"{cls.__qualname__}.") for cls in IGNORED_AGGREGATES) \
            or name.startswith(IGNORED_NAMES):
        return _IGNORED
    return _DESCRIBERS.get(kind) or _BY_NAME.get(name)


def _generic(event: Any, base: dict[str, Any]) -> Fields:
    name = type(event).__qualname__
    params = {k: v for k, v in vars(event).items()
              if k not in ("originator_id", "originator_version", "originator_topic",
                           "timestamp", "actor")
              and isinstance(v, str | int | float | bool | None)}
    return {"log": base["log"], "position": base["position"],
            "occurred_us": base["occurred_us"], "actor": base["actor"],
            "type": f"event.{name}", "trackable": OTHER, "item": name,
            "sentence": f"{base['actor']} recorded {name}", "parameters": params}


# -- the change log ---------------------------------------------------------------------------

Fields = dict[str, Any]


def _user(e: Any, d: Directory, key: str, verb: str) -> Fields:
    name = d.user(e.originator_id)
    return {"type": key, "trackable": USER, "item": name, "owner_id": str(e.originator_id),
            "recipient": name, "sentence": f"{e.actor} {verb.format(user=name)}"}


def _registered(e: User.Registered, d: Directory) -> Fields:
    what = "bot" if e.bot else "admin" if e.admin else "user"
    return {"type": "user.create", "trackable": USER, "item": e.username,
            "owner_id": str(e.originator_id), "recipient": e.username,
            "sentence": f"{e.actor} created {what} {e.username}",
            "parameters": {"username": e.username, "admin": e.admin, "bot": e.bot}}


def _token(e: Any, d: Directory, key: str, verb: str) -> Fields:
    application = getattr(e, "application", None) or d.tokens.get(e.token_id, "?")
    user = d.user(e.originator_id)
    whose = "" if e.actor == user else f" of {user}"
    return {"type": key, "trackable": APPLICATION_TOKEN, "item": application,
            "owner_id": str(e.originator_id), "recipient": user,
            "sentence": f"{e.actor} {verb} application token {application}{whose}",
            "parameters": {"application": application}}


def _team_created(e: Team.Created, d: Directory) -> Fields:
    kind = "" if e.kind == "regular" else f"{e.kind} "
    return {"type": "team.create", "trackable": TEAM, "item": e.name,
            "team_id": str(e.originator_id), "team_name": e.name,
            "sentence": f"{e.actor} created {kind}team {e.name}",
            "parameters": {"team": e.name, "kind": e.kind}}


def _member(e: Any, d: Directory, key: str) -> Fields:
    team, user = d.team(e.originator_id), d.user(e.user_id)
    if key == "team.add_member":
        text, params = f"added {user} to team {team} as {e.role}", {"role": e.role}
    elif key == "team.remove_member":
        text, params = f"removed {user} ({e.role}) from team {team}", {"role": e.role}
    else:
        text = f"changed {user}'s role in team {team} from {e.old_role} to {e.new_role}"
        if getattr(e, "cause", "") == "admin_granted":
            text += " (admins are owners of their teams)"
        params = {"old_role": e.old_role, "new_role": e.new_role}
    return {"type": key, "trackable": TEAM, "item": team, "recipient": user,
            "owner_id": str(e.user_id), "team_id": str(e.originator_id), "team_name": team,
            "sentence": f"{e.actor} {text}", "parameters": {"team": team, **params}}


def _ns(e: Any, d: Directory) -> Fields:
    found = d.namespaces.get(e.originator_id)
    name, team_id = found if found is not None else (f"namespace {e.originator_id}", None)
    return {"trackable": NAMESPACE, "item": name, "namespace_id": str(e.originator_id),
            "namespace_name": name, "team_id": str(team_id or ""),
            "team_name": d.team(team_id) if team_id else ""}


def _ns_created(e: Namespace.Created, d: Directory) -> Fields:
    team = d.team(e.team_id)
    return {"type": "namespace.create", "trackable": NAMESPACE, "item": e.name,
            "namespace_id": str(e.originator_id), "namespace_name": e.name,
            "team_id": str(e.team_id), "team_name": team,
            "sentence": f"{e.actor} created {e.visibility} namespace {e.name} in team {team}",
            "parameters": {"team": team, "visibility": e.visibility, "origin": e.origin}}


def _visibility(e: Namespace.VisibilityChanged, d: Directory) -> Fields:
    f = _ns(e, d)
    return {**f, "type": "namespace.change_visibility",
            "sentence": f"{e.actor} made namespace {f['item']} {e.visibility}"
                        f" (was {e.old_visibility})",
            "parameters": {"visibility": e.visibility, "old_visibility": e.old_visibility}}


def _moved(e: Namespace.MovedToTeam, d: Directory) -> Fields:
    f = _ns(e, d)
    old, new = d.team(e.old_team_id), d.team(e.team_id)
    return {**f, "type": "namespace.change_team", "team_id": str(e.team_id), "team_name": new,
            "sentence": f"{e.actor} moved namespace {f['item']} from team {old} to team {new}",
            "parameters": {"old": str(e.old_team_id), "new": str(e.team_id),
                           "old_team": old, "team": new}}


def _description(e: Namespace.DescriptionChanged, d: Directory) -> Fields:
    f = _ns(e, d)
    return {**f, "type": "namespace.change_namespace_description",
            "sentence": f"{e.actor} changed the description of namespace {f['item']}",
            "parameters": {"old": e.old_description, "new": e.description}}


def _ns_renamed(e: Namespace.Renamed, d: Directory) -> Fields:
    f = _ns(e, d)
    return {**f, "item": e.name, "namespace_name": e.name,
            "type": "namespace.change_namespace_name",
            "sentence": f"{e.actor} renamed namespace {e.old_name} to {e.name}",
            "parameters": {"old": e.old_name, "new": e.name}}


def _ns_deleted(e: Namespace.Deleted, d: Directory) -> Fields:
    f = _ns(e, d)
    return {**f, "type": "registry.delete", "trackable": REGISTRY,
            "sentence": f"{e.actor} deleted namespace {f['item']}",
            "parameters": {"namespace_name": f["item"], "team_name": f["team_name"]}}


def _team_changed(e: Team.Renamed | Team.DescriptionChanged, d: Directory) -> Fields:
    team = d.team(e.originator_id)
    if isinstance(e, Team.Renamed):
        key, text = "team.change_team_name", f"renamed team {e.old_name} to {e.name}"
        params = {"team": e.name, "old": e.old_name, "new": e.name}
        team = e.name
    else:
        key, text = "team.change_team_description", f"changed the description of team {team}"
        params = {"team": team, "old": e.old_description, "new": e.description}
    return {"type": key, "trackable": TEAM, "item": team, "team_id": str(e.originator_id),
            "team_name": team, "sentence": f"{e.actor} {text}", "parameters": params}


def _team_deleted(e: Team.Deleted, d: Directory) -> Fields:
    team = d.team(e.originator_id)
    return {"type": "registry.remove_team", "trackable": REGISTRY, "item": team,
            "team_id": str(e.originator_id), "team_name": team,
            "sentence": f"{e.actor} deleted team {team}", "parameters": {"team": team}}


def _registry(e: Registry.Registered | Registry.Updated, d: Directory) -> Fields:
    verb = "registered" if isinstance(e, Registry.Registered) else "updated"
    return {"type": "registry.create" if verb == "registered" else "registry.update",
            "trackable": REGISTRY, "item": e.name,
            "sentence": f"{e.actor} {verb} registry {e.name} ({e.hostname})",
            "parameters": {"name": e.name, "hostname": e.hostname,
                           "external_hostname": e.external_hostname, "use_ssl": e.use_ssl}}


def _rules(e: AccessRulesRecord.Recorded | AccessRulesRecord.Changed, d: Directory) -> Fields:
    delete = ("delete disabled" if not e.delete_enabled else
              "delete by owners and contributors" if e.delete_contributors else
              "delete by owners")
    return {"type": "configuration.change", "trackable": REGISTRY, "item": "access rules",
            "sentence": f"{e.actor} set the access rules: push policy {e.push_policy}, {delete}",
            "parameters": {"push_policy": e.push_policy, "delete_enabled": e.delete_enabled,
                           "delete_contributors": e.delete_contributors}}


def _switches(e: SwitchesRecord.Recorded | SwitchesRecord.Changed, d: Directory) -> Fields:
    values = ", ".join(f"{k.replace('_', ' ')} {'on' if v else 'off'}"
                       for k, v in sorted(e.switches.items()))
    return {"type": "configuration.change", "trackable": REGISTRY, "item": "user permissions",
            "sentence": f"{e.actor} set the user permissions: {values}",
            "parameters": {"user_permission": dict(e.switches)}}


def _session(e: Session.Started | Session.Ended, d: Directory) -> Fields:
    user_id = e.user_id if isinstance(e, Session.Started) else d.sessions[e.originator_id]
    user = d.user(user_id)
    if isinstance(e, Session.Started):
        key, text, params = "user.login", f"{user} signed in to the console", {}
    else:
        key, text = "user.logout", f"{user}'s console session ended ({e.reason})"
        params = {"reason": e.reason}
    return {"type": key, "trackable": USER, "item": user, "owner_id": str(user_id),
            "recipient": user, "sentence": text, "parameters": params}


# -- the audit trail ----------------------------------------------------------------------------

def _decision(e: TokenRequestDecided, d: Directory) -> Fields:
    who = e.subject or "anonymous"
    where = f" from {e.client_address}" if e.client_address else ""
    params = {"service": e.service, "credential": e.credential, "requested": e.requested,
              "granted": e.granted, "reasons": e.reasons, "jti": e.jti,
              "client_address": e.client_address, "user_agent": e.user_agent,
              "outcome": e.outcome}
    if e.outcome != ISSUED:
        return {"type": "user.login_failed", "trackable": USER, "item": who,
                "owner_id": e.subject_id, "recipient": who, "parameters": params,
                "sentence": f"a token request as {who} was refused{where}: {e.refusal}"}
    granted = "; ".join(e.granted) if e.granted else "nothing"
    return {"type": "token.issue", "trackable": TOKEN, "item": e.jti, "owner_id": e.subject_id,
            "recipient": who, "parameters": params,
            "sentence": f"{who} was issued a token for {e.service}{where} granting {granted}"}


def _verified(e: LogsVerified, d: Directory) -> Fields:
    outcome = ("intact" if e.ok else "TAMPERING DETECTED" if e.tampered
               else "not proven (no signed checkpoint yet)")
    logs = "; ".join(f"{log['log']}: {log['events']} events, checkpoint of"
                     f" {log['checkpoint_size'] if log['checkpoint_size'] is not None else 'none'}"
                     for log in e.logs)
    return {"type": "audit.verify", "trackable": OTHER, "item": "logs",
            "sentence": f"{e.actor} verified the logs: {outcome} ({logs})",
            "parameters": {"ok": e.ok, "tampered": e.tampered, "logs": e.logs,
                           "verifier_key": e.verifier_key}}


# -- repositories, tags and pulls (the registry's events), matched by class name --------------
# Matched by name rather than imported so the feed keeps working, field by field, while that
# model evolves; an event whose fields do not fit falls back to the generic entry.

GLOBAL_NAMESPACE = GLOBAL_NAMESPACE_NAME


def _repo(e: Any, d: Directory) -> Fields:
    full, ns_id = d.repositories.get(e.originator_id, ("", None))
    ns_id = getattr(e, "namespace_id", None) or ns_id
    full = str(getattr(e, "full_name", "") or full)
    ns_name = d.namespaces[ns_id][0] if ns_id in d.namespaces else (
        full.partition("/")[0] if "/" in full else GLOBAL_NAMESPACE)
    return {"trackable": REPOSITORY, "item": full, "repository": full,
            "namespace_id": str(ns_id or ""), "namespace_name": ns_name}


def _repo_event(key: str, verb: str) -> Any:
    def describe_repo(e: Any, d: Directory) -> Fields:
        f = _repo(e, d)
        tag, digest = getattr(e, "tag", ""), getattr(e, "digest", "")
        what = f"{f['item']}:{tag}" if tag else f"{f['item']}@{digest[:19]}" if digest \
            else f["item"]
        params = {k: getattr(e, k) for k in ("tag", "digest", "tags", "via", "client_addr")
                  if hasattr(e, k)}
        return {**f, "type": key, "recipient": tag, "sentence": f"{e.actor} {verb} {what}",
                "parameters": params}
    return describe_repo


def _fact_on_repo(key: str, verb: str) -> Any:
    def describe_fact(e: Any, d: Directory) -> Fields:
        full = str(e.repository)
        ns_name = full.partition("/")[0] if "/" in full else GLOBAL_NAMESPACE
        tag, digest = getattr(e, "tag", ""), str(getattr(e, "digest", ""))
        what = f"{full}:{tag}" if tag else f"{full}@{digest[:19]}"
        source = getattr(e, "from_repository", "")
        where = f" from {e.client_addr}" if getattr(e, "client_addr", "") else ""
        return {"type": key, "trackable": REPOSITORY, "item": full, "repository": full,
                "namespace_name": ns_name, "recipient": tag,
                "sentence": f"{e.actor} {verb} {what}{f' from {source}' if source else ''}"
                            f"{where}",
                "parameters": {k: getattr(e, k) for k in (
                    "tag", "digest", "from_repository", "client_addr", "user_agent")
                    if hasattr(e, k)}}
    return describe_fact


def _repo_described(e: Any, d: Directory) -> Fields:
    f = _repo(e, d)
    return {**f, "type": "repository.change_description",
            "sentence": f"{e.actor} changed the description of repository {f['item']}",
            "parameters": {"old": e.old_description, "new": e.description}}


_BY_NAME: dict[str, Any] = {
    "Repository.Created": _repo_event("repository.create", "created repository"),
    # Its namespace had gone: as Portus, a new repository of the name.
    "Repository.Recreated": _repo_event("repository.create", "created repository"),
    "Repository.TagPushed": _repo_event("repository.push", "pushed"),
    "Repository.ManifestPushed": _repo_event("repository.push", "pushed"),
    "Repository.TagDiscovered": _repo_event("repository.push", "found"),
    "Repository.TagDeleted": _repo_event("repository.delete", "deleted"),
    "Repository.ManifestDeleted": _repo_event("repository.delete", "deleted"),
    "Repository.TagNoLongerPresent": _repo_event("repository.delete", "no longer found"),
    "Repository.DescriptionChanged": _repo_described,
    "ManifestPulled": _fact_on_repo("repository.pull", "pulled"),
    "BlobMounted": _fact_on_repo("repository.mount", "mounted a blob into"),
}


_DESCRIBERS: dict[type[Any], Any] = {
    User.Registered: _registered,
    User.PasswordChanged: lambda e, d: _user(e, d, "user.change_password",
                                              "changed the password of {user}"),
    User.DisplayNameSet: lambda e, d: _user(e, d, "user.change_display_name",
                                             "changed the display name of {user}"),
    User.AdminGranted: lambda e, d: _user(e, d, "user.admin_granted", "made {user} an admin"),
    User.AdminRevoked: lambda e, d: _user(e, d, "user.admin_revoked",
                                           "removed {user} from the admins"),
    User.AuditorGranted: lambda e, d: _user(e, d, "user.auditor_granted",
                                             "made {user} an auditor"),
    User.AuditorRevoked: lambda e, d: _user(e, d, "user.auditor_revoked",
                                             "removed {user} from the auditors"),
    User.Disabled: lambda e, d: _user(e, d, "user.disabled", "disabled {user}"),
    User.EmailChanged: lambda e, d: _user(e, d, "user.change_email",
                                           "changed the email address of {user}"),
    User.Deleted: lambda e, d: _user(e, d, "user.delete", "deleted {user}"),
    User.Enabled: lambda e, d: _user(e, d, "user.enabled", "enabled {user}"),
    User.ApplicationTokenCreated: lambda e, d: _token(e, d, "application_token.create",
                                                      "created"),
    User.ApplicationTokenRevoked: lambda e, d: _token(e, d, "application_token.destroy",
                                                      "revoked"),
    Team.Created: _team_created,
    # Authentication breadth (issue 7): lockout and the LDAP directory.
    User.PasswordRejected: lambda e, d: _user(
        e, d, "user.password_rejected",
        f"gave a wrong password for {{user}} ({e.channel}, {e.attempt} in a row)"),
    User.Locked: lambda e, d: _user(e, d, "user.locked",
                                    "locked {user} after too many wrong passwords"),
    User.Unlocked: lambda e, d: _user(e, d, "user.unlocked", f"unlocked {{user}} ({e.reason})"),
    User.DirectoryLinked: lambda e, d: _user(e, d, "user.ldap_linked",
                                             f"linked {{user}} to LDAP entry {e.dn}"),
    User.SeenInDirectoryGroup: lambda e, d: _user(e, d, "user.ldap_group_seen",
                                                  f"saw {{user}} in LDAP group {e.group}"),
    User.LeftDirectoryGroup: lambda e, d: _user(e, d, "user.ldap_group_left",
                                                f"no longer sees {{user}} in LDAP group {e.group}"),
    Team.DirectorySyncStopped: lambda e, d: {
        "type": "team.ldap_check", "trackable": TEAM, "item": d.team(e.originator_id),
        "team_id": str(e.originator_id), "team_name": d.team(e.originator_id),
        "sentence": f"{e.actor} stopped LDAP group sync for team {d.team(e.originator_id)}"},
    Team.MemberAdded: lambda e, d: _member(e, d, "team.add_member"),
    Team.MemberRoleChanged: lambda e, d: _member(e, d, "team.change_member_role"),
    Team.MemberRemoved: lambda e, d: _member(e, d, "team.remove_member"),
    Team.Renamed: _team_changed,
    Team.DescriptionChanged: _team_changed,
    Team.Deleted: _team_deleted,
    Namespace.Created: _ns_created,
    Namespace.VisibilityChanged: _visibility,
    Namespace.MovedToTeam: _moved,
    Namespace.DescriptionChanged: _description,
    Namespace.Renamed: _ns_renamed,
    Namespace.Deleted: _ns_deleted,
    Registry.Registered: _registry,
    Registry.Updated: _registry,
    AccessRulesRecord.Recorded: _rules,
    AccessRulesRecord.Changed: _rules,
    SwitchesRecord.Recorded: _switches,
    SwitchesRecord.Changed: _switches,
    Session.Started: _session,
    Session.Ended: _session,
    TokenRequestDecided: _decision,
    LogsVerified: _verified,
}
