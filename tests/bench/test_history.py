"""The benchmarks' generated histories are real histories: stored through the library's recorder,
they decode and fold into the projection exactly as the world they describe."""

from __future__ import annotations

from pathlib import Path

from bench.history import World, events_of, write_history
from bench.rebuild import raw_read, rebuild
from domain.application import Wharfinger
from domain.values import NamespaceKind
from eventstore.location import StoreLocation
from eventstore.open import open_log


async def test_generated_history_folds_into_the_world_it_describes(
        tmp_path: Path, database_url: str | None) -> None:
    world = World(users=40, teams=6, namespaces=15, members_per_team=4, churn=60)
    app = open_log(StoreLocation.from_settings(tmp_path, database_url), Wharfinger, "events")
    try:
        written = write_history(app, world, batch=50)
        # Step 1: every event is stored once, in order, and reads back decoded.
        assert written == sum(1 for _ in events_of(world)) >= 40 * 4 + 6 * 5 + 15 + 60
        assert raw_read(app) == written
        # Step 2: the real rebuild path folds it into the world's shape.
        folded, index = await rebuild(app)
        assert folded == written
        assert index.position == written
        assert len(index.users) == 40
        assert {u.username for u in index.users.values()} == {f"user{i}" for i in range(40)}
        assert all(len(u.tokens) == 1 for u in index.users.values())
        assert len(index.teams) == 6
        assert all(len(t.members) == 4 for t in index.teams.values())
        assert len(index.namespaces) == 15
        assert all(n.kind is NamespaceKind.TEAM for n in index.namespaces.values())
        assert index.registry is not None and index.registry.serves("registry.bench:5000")
        # Step 3: the aggregates agree with the projection (churn applied to both).
        for team_id, team in index.teams.items():
            assert {str(k): v for k, v in team.members.items()} == app.repository.get(
                team_id).members
    finally:
        app.close()
