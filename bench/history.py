"""Generated histories: realistic event logs of any size, written fast.

Events come from the real aggregates (so they decode exactly as production events do) and are
written through the library's recorder in large transactions, bypassing the per-command save
path, which would take hours for a million events. Names are deterministic so runs compare.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.application import Wharfinger
from domain.errors import DomainError
from domain.names import NameClaim
from domain.namespaces import Namespace
from domain.registries import Registry
from domain.teams import Team
from domain.users import User
from domain.values import NamespaceKind, Role, TeamKind, Visibility

HASH = "$argon2id$v=19$m=65536,t=3,p=4$YmVuY2hzYWx0$" + "A" * 43
TOKEN_HASH = "sha256:" + "0" * 64


@dataclass(frozen=True)
class World:
    users: int
    teams: int
    namespaces: int
    members_per_team: int = 10
    churn: int = 0
    """Extra events after creation (role changes, visibility flips, password changes)."""
    registry: bool = True
    """False to add to a log that has its registry already."""
    prefix: str = ""
    """Prefixes every name, so several worlds can share one log."""

    @classmethod
    def of_size(cls, events: int) -> World:
        """A world whose history is about `events` long, shaped like a busy installation."""
        # per user ~4 events (registered, two name claims, token), per team 1 + members,
        # per namespace 1; the remainder is churn.
        users = max(10, events // 10)
        teams = max(2, users // 10)
        namespaces = max(2, users // 2)
        base = users * 4 + teams * 11 + namespaces
        return cls(users, teams, namespaces, 10, max(0, events - base))


def events_of(world: World, seed: int = 8) -> Iterator[Any]:
    """The history of `world`, as domain events in a plausible order."""
    rnd = random.Random(seed)
    if world.registry:
        registry = Registry.register(name="bench", hostname="registry.bench:5000",
                                     external_hostname="", use_ssl=False)
        yield from registry.collect_events()
    p = world.prefix
    # Aggregates are kept only when churn needs them; otherwise just their ids, so a caller
    # measuring memory (bench.memory) sees the projection's cost, not the generator's.
    keep = world.churn > 0
    users: list[User] = []
    user_ids: list[UUID] = []
    for i in range(world.users):
        user = User.register(username=f"{p}user{i}", email=f"{p}user{i}@example.org",
                             password_hash=HASH, admin=i == 0, bot=False)
        user.create_application_token("ci", TOKEN_HASH)
        user_ids.append(user.id)
        if keep:
            users.append(user)
        yield from user.collect_events()
        yield from NameClaim.claim("user", f"{p}user{i}", user.id).collect_events()
        yield from NameClaim.claim("email", f"{p}user{i}@example.org", user.id).collect_events()
    teams: list[Team] = []
    team_ids: list[UUID] = []
    for t in range(world.teams):
        team = Team.create(name=f"{p}team{t}", kind=TeamKind.REGULAR)
        for uid in rnd.sample(user_ids, min(world.members_per_team, len(user_ids))):
            team.add_member(uid, rnd.choice((Role.OWNER, Role.CONTRIBUTOR, Role.VIEWER)))
        team_ids.append(team.id)
        if keep:
            teams.append(team)
        yield from team.collect_events()
    namespaces: list[Namespace] = []
    for n in range(world.namespaces):
        ns = Namespace.create(name=f"{p}ns{n}", kind=NamespaceKind.TEAM,
                              team_id=team_ids[n % len(team_ids)],
                              visibility=rnd.choice(list(Visibility)))
        if keep:
            namespaces.append(ns)
        yield from ns.collect_events()
    churned = 0
    while churned < world.churn:
        kind = churned % 3
        aggregate: Any
        try:
            if kind == 0:
                aggregate = rnd.choice(namespaces)
                aggregate.change_visibility(
                    rnd.choice([v for v in Visibility if v is not aggregate.visibility]))
            elif kind == 1:
                aggregate = rnd.choice(teams)
                member = rnd.choice(list(aggregate.members))
                current = aggregate.members[member]
                aggregate.change_role(UUID(member),
                                      rnd.choice([r for r in Role if r is not current]))
            else:
                aggregate = rnd.choice(users)
                aggregate.change_password(HASH)
        except DomainError:  # e.g. demoting a team's last owner: pick another change
            aggregate.collect_events()
            churned += 1
            continue
        batch = aggregate.collect_events()
        churned += len(batch)
        yield from batch


def write_history(app: Wharfinger, world: World, batch: int = 5000) -> int:
    """Append the history of `world` to `app`'s log in transactions of `batch`; returns count."""
    to_stored = app.mapper.to_stored_event
    pending = []
    written = 0
    for event in events_of(world):
        pending.append(to_stored(event))
        if len(pending) >= batch:
            app.recorder.insert_events(pending)
            written += len(pending)
            pending = []
    if pending:
        app.recorder.insert_events(pending)
        written += len(pending)
    return written
