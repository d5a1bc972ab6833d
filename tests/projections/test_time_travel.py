"""Time travel against a brute-force replay: random histories, random times, both backends."""

from __future__ import annotations

import contextlib
import functools
import secrets
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from domain.application import Wharfinger
from domain.errors import DomainError
from domain.values import AccessRules, PushPolicy, Role, Visibility
from eventstore.location import StoreLocation, parse_postgres_url
from eventstore.open import open_log
from eventstore.reader import LoggedEvent, head_position, read_after
from eventstore.side_tables import SideTables
from projections import time_travel
from projections.checkpoints import FoldCheckpoints, dump_index, load_index, micros
from projections.permissions import PermissionIndex
from tests import conftest


@contextlib.contextmanager
def fresh_location(backend: str) -> Iterator[StoreLocation]:
    """A store of its own for one Hypothesis example (fixtures live for the whole test)."""
    with tempfile.TemporaryDirectory() as tmp:
        if backend == "sqlite":
            yield StoreLocation(Path(tmp))
            return
        base = parse_postgres_url(conftest.test_database_url())
        schema = f"tt_{secrets.token_hex(6)}"
        with psycopg.connect(base.conninfo(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        url = conftest.test_database_url()
        try:
            yield StoreLocation.from_settings(
                Path(tmp), f"{url}{'&' if '?' in url else '?'}schema={schema}")
        finally:
            with psycopg.connect(base.conninfo(), autocommit=True) as conn:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


KEY = b"fold checkpoint test key"
USERS = ["ann", "bob", "cid", "dee"]
TEAMS = ["web", "ops"]
NAMESPACES = ["webns", "opsns", "lib"]

op = st.one_of(
    st.tuples(st.just("add"), st.sampled_from(TEAMS), st.sampled_from(USERS),
              st.sampled_from(list(Role))),
    st.tuples(st.just("role"), st.sampled_from(TEAMS), st.sampled_from(USERS),
              st.sampled_from(list(Role))),
    st.tuples(st.just("remove"), st.sampled_from(TEAMS), st.sampled_from(USERS)),
    st.tuples(st.just("visibility"), st.sampled_from(NAMESPACES),
              st.sampled_from(list(Visibility))),
    st.tuples(st.just("move"), st.sampled_from(NAMESPACES), st.sampled_from(TEAMS)),
    st.tuples(st.just("admin"), st.sampled_from(USERS), st.booleans()),
    st.tuples(st.just("enabled"), st.sampled_from(USERS), st.booleans()),
    st.tuples(st.just("rules"), st.sampled_from(list(PushPolicy)), st.booleans(), st.booleans()),
    st.tuples(st.just("rename"), st.sampled_from(NAMESPACES)),
    st.tuples(st.just("checkpoint")),
)


def build_history(store: Wharfinger, checkpoints: FoldCheckpoints,
                  ops: list[tuple[object, ...]]) -> None:
    ids = {u: store.register_user(username=u, email=f"{u}@example.org", password_hash=None).id
           for u in USERS}
    store.register_registry(name="main", hostname="registry.test")
    teams = {t: store.create_team(name=t, owner_id=ids["ann"]).id for t in TEAMS}
    nss = {n: store.create_namespace(name=n, team_id=teams["web" if n != "opsns" else "ops"]).id
           for n in NAMESPACES}
    renamed = 0
    for step in ops:
        kind = step[0]
        try:
            if kind == "add":
                store.add_member(teams[str(step[1])], ids[str(step[2])], Role(str(step[3])))
            elif kind == "role":
                store.change_member_role(teams[str(step[1])], ids[str(step[2])],
                                         Role(str(step[3])))
            elif kind == "remove":
                store.remove_member(teams[str(step[1])], ids[str(step[2])])
            elif kind == "visibility":
                store.change_visibility(nss[str(step[1])], Visibility(str(step[2])))
            elif kind == "move":
                store.move_namespace(nss[str(step[1])], teams[str(step[2])])
            elif kind == "admin":
                (store.grant_admin if step[2] else store.revoke_admin)(ids[str(step[1])])
            elif kind == "enabled":
                (store.enable_user if step[2] else store.disable_user)(ids[str(step[1])])
            elif kind == "rename":  # no command yet: the aggregate's own method, saved
                ns = store.get_namespace(nss[str(step[1])])
                renamed += 1
                ns.rename(f"{step[1]}-{renamed}")
                store.save(ns)
            elif kind == "rules":
                store.record_access_rules(AccessRules(PushPolicy(str(step[1])), bool(step[2]),
                                                      bool(step[3])))
            else:
                checkpoints.catch_up()  # checkpoints exist up to here, not beyond
        except DomainError:
            pass  # a refused command records nothing, which is part of the history too


def brute_force(events: list[LoggedEvent], until_micros: int) -> PermissionIndex:
    """The trivially correct answer: fold the log from the start, stopping at T."""
    index = PermissionIndex()
    for logged in events:
        if micros(logged.event.timestamp) > until_micros:
            break
        index.apply(logged)
    return index


def answers(index: PermissionIndex) -> dict[str, object]:
    out: dict[str, object] = {}
    for user in USERS:
        with contextlib.suppress(DomainError):
            out[f"user:{user}"] = time_travel.user_permissions(index, user)
            # Deciding only the candidate namespaces gives the answer deciding all of them does.
            assert out[f"user:{user}"] == time_travel.user_permissions(index, user,
                                                                       every_namespace=True)
    for ns in [*NAMESPACES, *USERS]:
        with contextlib.suppress(DomainError):
            out[f"ns:{ns}"] = time_travel.namespace_access(index, ns)
    return out


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(ops=st.lists(op, max_size=25), every=st.integers(1, 7), data=st.data())
def test_time_travel_equals_brute_force_replay(backend: str, ops: list[tuple[object, ...]],
                                               every: int, data: st.DataObject) -> None:
    with fresh_location(backend) as location:
        store = open_log(location, Wharfinger, "events")
        try:
            checkpoints = FoldCheckpoints(SideTables(location),
                                          functools.partial(read_after, store), key=KEY,
                                          every=every)
            build_history(store, checkpoints, ops)
            events = read_after(store, 0, 100_000)
            latest = checkpoints.latest()
            times = sorted({micros(e.event.timestamp) for e in events})
            # Random T: exactly an event's time, just before or after one, or outside the log.
            for _ in range(4):
                base = data.draw(st.sampled_from(times))
                when_micros = base + data.draw(st.sampled_from([-1, 0, 1, 10**9, -10**9]))
                when = events[0].event.timestamp + timedelta(
                    microseconds=when_micros - times[0])
                expected = brute_force(events, micros(when))
                past = checkpoints.state_at(when)
                assert past.index == expected
                assert past.position == expected.position
                assert answers(past.index) == answers(expected)
                # And by log position, as bundles and explanations use it.
                assert checkpoints.state_at_position(expected.position).index == expected
                # Never a replay from the start once checkpoints cover T: fewer than `every`.
                if latest is not None and expected.position <= latest[0].position:
                    assert past.replayed < every
        finally:
            store.close()


def test_checkpoint_state_round_trips() -> None:
    index = PermissionIndex()
    assert load_index(dump_index(index, KEY), KEY) == index


def test_an_altered_checkpoint_is_ignored_not_believed(location: StoreLocation) -> None:
    """Someone with database access rewrites a fold checkpoint to grant themselves push; the
    checkpoint fails its MAC and the answer comes from the log."""
    store = open_log(location, Wharfinger, "events")
    try:
        build_history(store, FoldCheckpoints(SideTables(location),
                                             functools.partial(read_after, store), key=KEY,
                                             every=2), [("checkpoint",)])
        side = SideTables(location)
        forged = PermissionIndex()  # an empty world: nobody exists
        with side.transaction() as cur:
            cur.execute(side.render("UPDATE {t:fold_checkpoints} SET state = ?"),
                        (dump_index(forged, b"the attacker's own key"),))
        checkpoints = FoldCheckpoints(side, functools.partial(read_after, store), key=KEY)
        events = read_after(store, 0, 100_000)
        now = events[-1].event.timestamp
        past = checkpoints.state_at(now)
        assert past.index == brute_force(events, micros(now))
        assert past.checkpoint == 0  # replayed from the start rather than trust the row
        with pytest.raises(ValueError, match="MAC"):
            load_index(dump_index(forged, b"the attacker's own key"), KEY)
    finally:
        store.close()


def test_catching_up_as_a_follower_writes_the_checkpoints_a_full_read_would(
        location: StoreLocation) -> None:
    """FoldCheckpoints.catch_up reads like the node's follower (`follow`): the rows its node
    just appended from memory, the database wherever another node's rows come between, and a
    batch may end before the log does. Caught up round after round, it folds every event once,
    in order, and its checkpoints are the ones a full read gives (both backends)."""
    one = open_log(location, Wharfinger, "events")
    other = open_log(location, Wharfinger, "events")
    try:
        side = SideTables(location)
        checkpoints = FoldCheckpoints(side, functools.partial(read_after, one), key=KEY,
                                      every=3,
                                      follow=functools.partial(read_after, one, follower=True))
        build_history(one, checkpoints, [("checkpoint",)])
        for n in range(4):
            # Another node's command between two of this node's.
            for node, name in ((one, f"mine{n}"), (other, f"other{n}"), (one, f"more{n}")):
                node.register_user(username=name, email=f"{name}@example.org",
                                   password_hash=None)
            checkpoints.catch_up()
        while checkpoints.catch_up():
            pass
        events = read_after(one, 0, 100_000)
        assert events[-1].position == head_position(one)
        latest = checkpoints.latest()
        assert latest is not None
        assert latest[0].folded == len(events) - len(events) % 3
        for logged in events[2::3]:
            folded = checkpoints.state_at_position(logged.position)
            expected = brute_force([e for e in events if e.position <= logged.position],
                                   micros(events[-1].event.timestamp))
            assert folded.index == expected and folded.replayed == 0
    finally:
        other.close()
        one.close()
