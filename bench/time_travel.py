"""Time travel on a large history: a query at a random past time, against its baselines.

Builds a history of `--events` events (default 1 000 000: 2 000 users, 200 teams, 600
namespaces, then membership, role and visibility churn saved in batches; each team draws its
members from 40 users, so teams stay Portus-sized while the history grows) while a second process
follows the log and writes the fold checkpoints, as a serving node's checkpointer does (the build
and the fold are each one core's Python; on two cores they overlap), then times, alternating in
the same run:

* `time travel`: the state at a random T (checkpoint + replay) and the user's permissions;
* `live index`: the same question on an in-memory fold (the floor: no I/O at all);
* `full replay`: the brute-force answer, folding the log from the start to T (a few runs only).

Target ([perf], issue 5): time travel ≤ 200 ms median on 1M events.
Usage: `python -m bench.time_travel [--events N] [--database-url postgresql://…]`.
"""

from __future__ import annotations

import argparse
import functools
import multiprocessing
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Event
from pathlib import Path
from uuid import UUID

from bench.common import Row, median, print_table, row
from domain.application import Wharfinger
from domain.errors import DomainError
from domain.namespaces import Namespace
from domain.teams import Team
from domain.values import Role, Visibility
from eventstore.location import StoreLocation
from eventstore.open import open_log
from eventstore.reader import head_position, read_after
from eventstore.side_tables import SideTables
from projections import time_travel
from projections.checkpoints import FoldCheckpoints
from projections.permissions import PermissionIndex

USERS, TEAMS, NAMESPACES = 2000, 200, 600


def build(store: Wharfinger, total: int, rng: random.Random) -> tuple[list[str], int]:
    """Returns the user names and the log position where the churn begins."""
    store.register_registry(name="main", hostname="registry.bench")
    users: list[UUID] = []
    names: list[str] = []
    for i in range(USERS):
        name = f"user{i:05d}"
        users.append(store.register_user(username=name, email=f"{name}@example.org",
                                         password_hash=None).id)
        names.append(name)
    teams = [store.create_team(name=f"team{i:04d}", owner_id=users[i]) for i in range(TEAMS)]
    namespaces = [store.create_namespace(name=f"ns{i:04d}", team_id=teams[i % TEAMS].id)
                  for i in range(NAMESPACES)]
    team_objs = {t.id: store.get_team(t.id) for t in teams}
    ns_objs = {n.id: store.get_namespace(n.id) for n in namespaces}
    written = setup_end = head_position(store)
    batch: dict[UUID, Team | Namespace] = {}
    pending = 0
    while written < total:
        if rng.random() < 0.1:
            ns = ns_objs[rng.choice(namespaces).id]
            ns.change_visibility(rng.choice([v for v in Visibility if v != ns.visibility]))
            batch[ns.id] = ns
        else:
            t = rng.randrange(TEAMS)
            team = team_objs[teams[t].id]
            user = users[(t * 10 + rng.randrange(40)) % USERS]
            role = team.role_of(user)
            if role is None:
                team.add_member(user, rng.choice(list(Role)))
            elif role is not Role.OWNER and rng.random() < 0.5:
                team.remove_member(user)
            else:
                others = [r for r in Role if r != role]
                try:
                    team.change_role(user, rng.choice(others))
                except DomainError:  # the last owner stays an owner
                    continue
            batch[team.id] = team
        pending += 1
        if pending >= 2000:
            store.save(*batch.values())
            written += pending
            batch, pending = {}, 0
            print(f"\r  {written:,} events", end="", file=sys.stderr, flush=True)
    if batch:
        store.save(*batch.values())
    print(file=sys.stderr)
    return names, setup_end


def timed(fn: functools.partial[object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


CHECKPOINT_KEY = b"bench" * 8


def checkpoints_of(location: StoreLocation, store: Wharfinger) -> FoldCheckpoints:
    """The benchmark's fold checkpoints (every 1000 events, the service's default); catching
    up reads as a node's follower does."""
    return FoldCheckpoints(SideTables(location), functools.partial(read_after, store),
                           key=CHECKPOINT_KEY, every=1000,
                           follow=functools.partial(read_after, store, follower=True))


def follow_checkpoints(location: StoreLocation, built: Event) -> None:
    """The checkpointer, in a process of its own: folds the log as it grows and writes a
    checkpoint every 1000 events, until `built` is set and it has caught up with the head."""
    store = open_log(location, Wharfinger, "events")
    try:
        checkpoints = checkpoints_of(location, store)
        while True:
            done = built.is_set()  # read before folding: whatever was built by then is folded
            if not checkpoints.catch_up(batch=5000):
                if done:
                    return
                time.sleep(0.2)
    finally:
        store.close()


def build_with_checkpointer(location: StoreLocation, store: Wharfinger, total: int,
                            rng: random.Random) -> tuple[list[str], int]:
    """`build`, while `follow_checkpoints` runs in a second process; returns once both are
    done (what `build` returns)."""
    # spawn: a fresh interpreter that opens its own connections (none of this one's)
    spawn = multiprocessing.get_context("spawn")
    built = spawn.Event()
    checkpointer = spawn.Process(target=follow_checkpoints, args=(location, built))
    checkpointer.start()
    try:
        t0 = time.perf_counter()
        names, setup_end = build(store, total, rng)
        print(f"  built {head_position(store):,} events in {time.perf_counter() - t0:.0f} s",
              file=sys.stderr)
    finally:
        built.set()  # on failure too: the checkpointer then stops at the head it sees
        t1 = time.perf_counter()
        checkpointer.join()
    if checkpointer.exitcode != 0:
        raise RuntimeError(f"the checkpointer failed (exit code {checkpointer.exitcode})")
    print(f"  fold checkpoints written {time.perf_counter() - t1:.0f} s after the build",
          file=sys.stderr)
    return names, setup_end


def run(location: StoreLocation, total: int, runs: int) -> dict[str, list[float]]:
    rng = random.Random(5)
    store = open_log(location, Wharfinger, "events")
    try:
        names, setup_end = build_with_checkpointer(location, store, total, rng)
        head = head_position(store)
        read = functools.partial(read_after, store)
        checkpoints = checkpoints_of(location, store)
        first = read(setup_end - 1, 1)[0].event.timestamp
        last = read(head - 1, 1)[0].event.timestamp
        span = (last - first).total_seconds()
        # The fold at the head: the last checkpoint and the events after it (a checkpoint
        # loads to the fold it saved: tests/projections/test_time_travel.py).
        live = checkpoints.state_at_position(head).index
        assert live.position == head, (live.position, head)

        def when() -> datetime:
            return first + timedelta(seconds=rng.uniform(0, span))

        def travel() -> None:
            state = checkpoints.state_at(when())
            time_travel.user_permissions(state.index, rng.choice(names))

        def floor() -> None:
            time_travel.user_permissions(live, rng.choice(names))

        def replay() -> None:
            limit = when().astimezone(UTC)
            index = PermissionIndex()
            position = 0
            while True:
                events = read(position, 10_000)
                for logged in events:
                    if logged.event.timestamp > limit:
                        break
                    index.apply(logged)
                else:
                    if len(events) == 10_000:
                        position = events[-1].position
                        continue
                break
            time_travel.user_permissions(index, rng.choice(names))

        samples: dict[str, list[float]] = {"time travel": [], "live index": [], "full replay": []}
        for i in range(runs):
            samples["time travel"].append(timed(functools.partial(travel)))
            samples["live index"].append(timed(functools.partial(floor)))
            # The baseline folds up to the whole log: a few runs, one beyond 200k events.
            if i % max(1, runs // 3) == 0 and (total <= 200_000 or i == 0):
                samples["full replay"].append(timed(functools.partial(replay)))
        return samples
    finally:
        store.close()


def main(events: int = 1_000_000, runs: int = 30, database_url: str | None = None
         ) -> list[Row]:
    """Rows for `python -m bench`: time travel against the full replay it replaces."""
    with tempfile.TemporaryDirectory() as tmp:
        location = StoreLocation.from_settings(Path(tmp), database_url)
        samples = run(location, events, runs)
    replay = median(samples["full replay"])
    case = f"{location.backend}, {events:,} events"
    return [
        row("time_travel", f"permissions at a random past T ({case})",
            value=median(samples["time travel"]), unit="ms", baseline=replay,
            baseline_name="full replay to T", better="lower", target="<= 200 ms at 1M events",
            runs=len(samples["time travel"])),
        row("time_travel", f"same question on the live index ({case})",
            value=median(samples["live index"]), unit="ms", baseline=replay,
            baseline_name="full replay to T", better="lower", runs=len(samples["live index"])),
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database-url", default=None,
                        help="postgresql://…?schema=NAME (an empty schema); default SQLite")
    args = parser.parse_args()
    print_table(main(args.events, args.runs, args.database_url))
