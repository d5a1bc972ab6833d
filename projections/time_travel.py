"""Time travel: who could do what, at a past time, and what changed between two times, and why.

Every answer comes from the permission fold (projections.permissions) as it was at the time,
decided by the same policy code the token endpoint runs (domain.policy via the same lookups as
projections.token_access), so "could alice push to team/app on 3 March" is answered exactly the
way her token request would have been.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from uuid import UUID

from domain.errors import InvalidInputError, NotFoundError
from domain.policy import Decision, Principal, repository_decisions
from domain.scopes import namespace_of
from domain.users import User
from domain.values import Action, Visibility
from eventstore.reader import LoggedEvent
from projections.checkpoints import FoldCheckpoints, PastState, ReadAfter, event_micros, micros
from projections.jti_index import JtiIndex
from projections.permissions import _HANDLERS, NamespaceRecord, PermissionIndex

ACTIONS = (Action.PULL, Action.PUSH, Action.DELETE)
ANYONE = "(anyone)"
SIGNED_IN = "(any signed-in user)"
# Events that change credentials but never what a principal may do.
_NO_EFFECT = {User.PasswordChanged, User.DisplayNameSet, User.ApplicationTokenCreated,
              User.ApplicationTokenRevoked}
_SOMEONE = UUID(int=0)  # a signed-in user in no team: stands for every such user


def _decide(index: PermissionIndex, principal: Principal | None,
            ns: NamespaceRecord | None) -> dict[Action, Decision]:
    role = index.role_of(principal.user_id if principal else None, ns.team_id) if ns else None
    return repository_decisions(principal, ns.facts() if ns else None, role, index.rules)


def _grant_path(index: PermissionIndex, user_id: UUID | None, ns: NamespaceRecord,
                admin: bool) -> dict[str, Any]:
    team = index.teams.get(ns.team_id)
    role = index.role_of(user_id, ns.team_id)
    return {"team": team.name if team else None, "team_kind": team.kind.value if team else None,
            "role": role.value if role else None, "visibility": ns.visibility.value,
            "namespace_kind": ns.kind.value, "admin": admin}


def resolve_namespace(index: PermissionIndex, name: str, *,
                      repository: bool = False) -> NamespaceRecord:
    """A namespace by name, or (`repository=True`) the namespace a repository lives in:
    `team/app` → `team`, `app` → the global namespace (the token endpoint's rule)."""
    ns_name = namespace_of(name) if repository else name
    record = index.global_namespace() if ns_name is None else index.namespace_named(ns_name)
    if record is None:
        shown = ns_name if ns_name is not None else "(global)"
        raise NotFoundError(f"namespace '{shown}' did not exist at that time",
                            field="repository" if repository else "namespace")
    return record


# -- the two questions -------------------------------------------------------------------------

def user_permissions(index: PermissionIndex, username: str, *,
                     every_namespace: bool = False) -> dict[str, Any]:
    """Per namespace, what `username` could pull, push or delete, with the grant path.

    Only the namespaces where the policy could allow the user anything are decided (see
    `_candidates`); `every_namespace` decides them all (the tests' reference answer)."""
    user = index.user_named(username)
    if user is None:
        raise NotFoundError(f"user '{username}' did not exist at that time", field="username")
    principal = user.principal() if user.enabled else None
    namespaces = []
    candidates = (index.namespaces.values() if every_namespace
                  else _candidates(index, principal))
    for ns in sorted(candidates, key=lambda n: n.name):
        decisions = _decide(index, principal, ns)
        if not any(decisions[a].allowed for a in ACTIONS):
            continue
        namespaces.append({
            "namespace": ns.name,
            "actions": {a.value: {"allowed": decisions[a].allowed, "reason": decisions[a].reason}
                        for a in ACTIONS},
            "grant": _grant_path(index, user.id, ns, user.admin and user.enabled),
        })
    return {"user": user.username, "admin": user.admin, "enabled": user.enabled,
            "note": None if user.enabled else "disabled: no credential of this user could get a "
                                              "token, so only what anyone could do applies",
            "namespaces": namespaces}


def _candidates(index: PermissionIndex, principal: Principal | None
                ) -> Iterable[NamespaceRecord]:
    """The namespaces in which domain.policy could allow `principal` an action: all of them
    for an admin; else those that are not private, and the private ones of its teams. In any
    other namespace a non-admin is no member, and the policy grants a non-member nothing in a
    private namespace. A filter only, to skip most of a large registry's namespaces (each
    candidate is still decided by the policy); the tests compare it with deciding them all."""
    if principal is not None and principal.admin:
        return index.namespaces.values()
    user_id = principal.user_id if principal is not None else None
    teams = {t.id for t in index.teams.values() if user_id in t.members} if user_id else set()
    return [ns for ns in index.namespaces.values()
            if ns.visibility is not Visibility.PRIVATE or ns.team_id in teams]


def namespace_access(index: PermissionIndex, name: str, *,
                     repository: bool = False) -> dict[str, Any]:
    """Who could pull, push and delete in a namespace (or a repository's namespace)."""
    ns = resolve_namespace(index, name, repository=repository)
    team = index.teams.get(ns.team_id)
    candidates: list[tuple[str, Principal | None, UUID | None]] = [(ANYONE, None, None)]
    someone = Principal(_SOMEONE, SIGNED_IN, False)
    candidates.append((SIGNED_IN, someone, None))
    members = set(team.members) if team else set()
    for user in sorted(index.users.values(), key=lambda u: u.username):
        if user.enabled and (user.admin or user.id in members):
            candidates.append((user.username, user.principal(), user.id))
    access: dict[str, list[dict[str, Any]]] = {a.value: [] for a in ACTIONS}
    for who, principal, user_id in candidates:
        decisions = _decide(index, principal, ns)
        for action in ACTIONS:
            if decisions[action].allowed:
                entry: dict[str, Any] = {"who": who, "reason": decisions[action].reason}
                if user_id is not None:
                    entry["grant"] = _grant_path(index, user_id, ns,
                                                 bool(principal and principal.admin))
                access[action.value].append(entry)
    return {"namespace": ns.name, "team": team.name if team else None,
            "visibility": ns.visibility.value, "access": access}


# -- differences, each linked to the events that caused it --------------------------------------

Grants = dict[tuple[str, str], str]
"""(namespace or who, action) → the reason it was allowed."""


def user_grants(index: PermissionIndex, username: str) -> Grants:
    try:
        answer = user_permissions(index, username)
    except NotFoundError:
        return {}
    return {(n["namespace"], a): v["reason"] for n in answer["namespaces"]
            for a, v in n["actions"].items() if v["allowed"]}


def namespace_grants(index: PermissionIndex, name: str, *,
                     repository: bool = False) -> Grants:
    try:
        answer = namespace_access(index, name, repository=repository)
    except NotFoundError:
        return {}
    return {(e["who"], a): e["reason"] for a, entries in answer["access"].items()
            for e in entries}


def event_ref(logged: LoggedEvent) -> dict[str, Any]:
    e = logged.event
    return {"position": logged.position, "id": str(e.originator_id),
            "version": e.originator_version, "type": type(e).__qualname__,
            "actor": getattr(e, "actor", None), "time": e.timestamp.isoformat()}


@dataclass
class _Trace:
    before: str | None
    events: list[dict[str, Any]]


def diff(start: PermissionIndex, events: Iterable[LoggedEvent],
         grants: Callable[[PermissionIndex], Grants], *, key_name: str) -> list[dict[str, Any]]:
    """Fold `events` onto `start` (which is consumed) and report every grant that differs at
    the end, with the events that changed it on the way, in log order."""
    current = grants(start)
    traces: dict[tuple[str, str], _Trace] = {}
    for logged in events:
        kind = type(logged.event)
        start.apply(logged)
        if kind not in _HANDLERS or kind in _NO_EFFECT:
            continue
        after = grants(start)
        if after == current:
            continue
        ref = event_ref(logged)
        for key in set(current) | set(after):
            if current.get(key) != after.get(key):
                trace = traces.setdefault(key, _Trace(current.get(key), []))
                trace.events.append(ref)
        current = after
    changes = []
    for (subject, action), trace in sorted(traces.items()):
        now = current.get((subject, action))
        if now == trace.before:
            continue
        change = ("granted" if trace.before is None else
                  "revoked" if now is None else "reason changed")
        changes.append({key_name: subject, "action": action, "change": change,
                        "before": trace.before, "after": now, "caused_by": trace.events})
    return changes


# -- asking the log -------------------------------------------------------------------------------

def parse_time(text: str, field: str) -> datetime:
    """ISO 8601; a bare date means its first instant, and no offset means UTC."""
    value = text.strip()
    if value == "now":
        return datetime.now(UTC)
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(), UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidInputError(
            f"'{text}' is not a time: use ISO 8601, e.g. 2026-03-01 or 2026-03-01T12:00:00Z",
            field=field) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def check_range(since: datetime, until: datetime, fields: tuple[str, str]) -> None:
    if since > until:
        raise InvalidInputError(f"must not be after {fields[1]} ({until.isoformat()})",
                                field=fields[0])


def _at(state: PastState, when: datetime) -> dict[str, Any]:
    return {"at": when.isoformat(), "log_position": state.position}


def permissions_at(checkpoints: FoldCheckpoints, username: str, when: datetime) -> dict[str, Any]:
    state = checkpoints.state_at(when)
    return {**_at(state, when), **user_permissions(state.index, username)}


def access_at(checkpoints: FoldCheckpoints, name: str, when: datetime, *,
              repository: bool = False) -> dict[str, Any]:
    state = checkpoints.state_at(when)
    answer = namespace_access(state.index, name, repository=repository)
    if repository:
        answer["repository"] = name
    return {**_at(state, when), **answer}


def events_until(read_after: ReadAfter, position: int, until: datetime,
                 batch: int = 500) -> Iterator[LoggedEvent]:
    """Events after `position` up to the first that happened after `until`."""
    limit = micros(until)
    while True:
        events = read_after(position, batch)
        for logged in events:
            if event_micros(logged) > limit:
                return
            yield logged
        if len(events) < batch:
            return
        position = events[-1].position


def permissions_diff(checkpoints: FoldCheckpoints, read_after: ReadAfter, username: str,
                     since: datetime, until: datetime) -> dict[str, Any]:
    check_range(since, until, ("from", "to"))
    state = checkpoints.state_at(since)
    if state.index.user_named(username) is None:
        end = checkpoints.state_at(until).index
        if end.user_named(username) is None:
            raise NotFoundError(f"user '{username}' did not exist in that time range",
                                field="username")
    changes = diff(state.index, events_until(read_after, state.position, until),
                   lambda index: user_grants(index, username), key_name="namespace")
    return {"user": username, "from": since.isoformat(), "to": until.isoformat(),
            "changes": changes}


def access_diff(checkpoints: FoldCheckpoints, read_after: ReadAfter, name: str,
                since: datetime, until: datetime, *, repository: bool = False) -> dict[str, Any]:
    check_range(since, until, ("from", "to"))
    state = checkpoints.state_at(since)
    end = checkpoints.state_at(until).index
    resolve_namespace(end, name, repository=repository)  # must exist at the end of the range
    changes = diff(state.index, events_until(read_after, state.position, until),
                   lambda index: namespace_grants(index, name, repository=repository),
                   key_name="who")
    return {"repository" if repository else "namespace": name, "from": since.isoformat(),
            "to": until.isoformat(), "changes": changes}


def explain_token(checkpoints: FoldCheckpoints, records: JtiIndex, jti: str) -> dict[str, Any]:
    """The decision record of a token (found by its `jti` in the index of the audit trail)
    and, for each scope it asked for, the grant paths of its subject at the moment it was
    issued, from the permission fold as it was then."""
    if not jti.strip():
        raise InvalidInputError("can't be blank", field="jti")
    found = records.find(jti)
    if found is None:
        raise NotFoundError(f"no decision record of a token with jti '{jti}'", field="jti")
    record = {k: _plain(v) for k, v in vars(found.event).items()}
    record["type"] = type(found.event).__qualname__
    when: datetime = found.event.timestamp
    state = checkpoints.state_at(when)
    subject = _subject(found.event)
    explained: list[dict[str, Any]] = []
    for repository in _repositories(found.event):
        try:
            ns = resolve_namespace(state.index, repository, repository=True)
        except NotFoundError as e:
            explained.append({"repository": repository, "note": e.message})
            continue
        user = state.index.user_named(subject) if subject else None
        principal = user.principal() if user and user.enabled else None
        decisions = _decide(state.index, principal, ns)
        explained.append({
            "repository": repository, "namespace": ns.name,
            "actions": {a.value: {"allowed": decisions[a].allowed,
                                  "reason": decisions[a].reason} for a in ACTIONS},
            "grant": _grant_path(state.index, user.id if user else None, ns,
                                 bool(principal and principal.admin))})
    return {"jti": jti, "audit_position": found.position, "record": record,
            "log_position_then": state.position, "subject": subject,
            "recomputed": explained}


def _plain(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def _subject(fact: Any) -> str | None:
    for name in ("subject", "username", "account"):
        value = getattr(fact, name, None)
        if isinstance(value, str) and value:
            return value
    return None


def _repositories(fact: Any) -> list[str]:
    """Repository names of the scopes a decision record asked for, whatever its shape."""
    names: list[str] = []
    for attr in ("requested_scopes", "scopes", "requested", "decisions", "granted_scopes"):
        value = getattr(fact, attr, None)
        for item in value if isinstance(value, (list, tuple)) else []:
            text = item.get("scope", item) if isinstance(item, dict) else item
            if isinstance(text, dict):
                kind, name = text.get("type"), text.get("name")
            elif isinstance(text, str):
                kind, _, rest = text.partition(":")
                name = rest.rpartition(":")[0] if ":" in rest else rest
            else:
                continue
            if kind == "repository" and isinstance(name, str) and name not in names:
                names.append(name)
        if names:
            return names
    return names
