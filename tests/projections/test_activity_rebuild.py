"""The same random history gives the same activity feed whether it was projected live (in
batches of random sizes, interleaved with the writes) or rebuilt from the logs afterwards, on
SQLite and PostgreSQL (issue 5: "identical read models whether built live or rebuilt")."""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from domain.actors import acting_as
from domain.application import Wharfinger
from domain.audit_trail import AuditTrail
from domain.decisions import TokenRequestDecided
from domain.errors import DomainError
from domain.values import Role, Visibility
from eventstore.location import StoreLocation, parse_postgres_url
from eventstore.open import open_log
from eventstore.reader import read_after
from projections.activity.entries import trackable_of
from projections.activity.projector import ActivityProjector, rebuild
from projections.activity.store import open_activity_store
from projections.activity.visibility import audience_for, audience_of, public_keys, viewer_of
from projections.permissions import PermissionIndex
from tests.conftest import test_database_url as database_url_for_tests

ROLES, VISIBILITIES = list(Role), list(Visibility)
index = st.integers(min_value=0, max_value=7)
operation = st.one_of(
    st.tuples(st.just("user")),
    st.tuples(st.just("team"), index),
    st.tuples(st.just("member"), index, index, st.sampled_from(ROLES)),
    st.tuples(st.just("role"), index, index, st.sampled_from(ROLES)),
    st.tuples(st.just("remove"), index, index),
    st.tuples(st.just("namespace"), index, st.sampled_from(VISIBILITIES)),
    st.tuples(st.just("visibility"), index, st.sampled_from(VISIBILITIES)),
    st.tuples(st.just("rename"), index),
    st.tuples(st.just("admin"), index, st.booleans()),
    st.tuples(st.just("auditor"), index, st.booleans()),
    st.tuples(st.just("disable"), index, st.booleans()),
    st.tuples(st.just("decision"), index, st.booleans()),
    st.tuples(st.just("project"), st.integers(min_value=1, max_value=7)),
    st.tuples(st.just("restart")),
)


@contextmanager
def fresh_location(backend: str) -> Iterator[StoreLocation]:
    """A new empty store per example (fixtures are per test, examples are many)."""
    with tempfile.TemporaryDirectory() as tmp:
        if backend == "sqlite":
            yield StoreLocation(Path(tmp))
            return
        base = database_url_for_tests()
        schema = f"h_{secrets.token_hex(6)}"
        conninfo = parse_postgres_url(base).conninfo()
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        sep = "&" if "?" in base else "?"
        try:
            yield StoreLocation.from_settings(Path(tmp), f"{base}{sep}schema={schema}")
        finally:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


class History:
    """Applies random operations through the real commands; refused ones are simply refused."""

    def __init__(self, store: Wharfinger, audit: AuditTrail) -> None:
        self.store, self.audit = store, audit
        self.users: list[Any] = []
        self.teams: list[Any] = []
        self.namespaces: list[Any] = []
        store.register_registry(name="main", hostname="registry.test:5000")

    def pick(self, items: list[Any], i: int) -> Any:
        return items[i % len(items)] if items else None

    def apply(self, op: tuple[Any, ...]) -> None:
        kind, *args = op
        user = self.pick(self.users, args[0]) if args and isinstance(args[0], int) else None
        try:
            with acting_as(user.username if user is not None else "cli"):
                getattr(self, f"_{kind}")(*args)
        except DomainError:
            pass

    def _user(self) -> None:
        n = len(self.users)
        self.users.append(self.store.register_user(
            username=f"user{n}", email=f"user{n}@example.org", password_hash=None))

    def _team(self, owner: int) -> None:
        if self.users:
            self.teams.append(self.store.create_team(name=f"team{len(self.teams)}",
                                                     owner_id=self.pick(self.users, owner).id))

    def _member(self, user: int, team: int, role: Role) -> None:
        if self.users and self.teams:
            self.store.add_member(self.pick(self.teams, team).id,
                                  self.pick(self.users, user).id, role)

    def _role(self, user: int, team: int, role: Role) -> None:
        if self.users and self.teams:
            self.store.change_member_role(self.pick(self.teams, team).id,
                                          self.pick(self.users, user).id, role)

    def _remove(self, user: int, team: int) -> None:
        if self.users and self.teams:
            self.store.remove_member(self.pick(self.teams, team).id,
                                     self.pick(self.users, user).id)

    def _namespace(self, team: int, visibility: Visibility) -> None:
        if self.teams:
            self.namespaces.append(self.store.create_namespace(
                name=f"ns{len(self.namespaces)}", team_id=self.pick(self.teams, team).id,
                visibility=visibility))

    def _visibility(self, ns: int, visibility: Visibility) -> None:
        if self.namespaces:
            self.store.change_visibility(self.pick(self.namespaces, ns).id, visibility)

    def _rename(self, ns: int) -> None:
        if self.namespaces:
            target = self.pick(self.namespaces, ns)
            self.store.update_namespace(target.id, name=f"renamed{secrets.token_hex(3)}")

    def _admin(self, user: int, on: bool) -> None:
        if self.users:
            uid = self.pick(self.users, user).id
            (self.store.grant_admin if on else self.store.revoke_admin)(uid)

    def _auditor(self, user: int, on: bool) -> None:
        if self.users:
            uid = self.pick(self.users, user).id
            (self.store.grant_auditor if on else self.store.revoke_auditor)(uid)

    def _disable(self, user: int, off: bool) -> None:
        if self.users:
            uid = self.pick(self.users, user).id
            (self.store.disable_user if off else self.store.enable_user)(uid)

    def _decision(self, user: int, issued: bool) -> None:
        who = self.pick(self.users, user)
        self.audit.record(TokenRequestDecided.new(
            subject=who.username if who else "", subject_id=str(who.id) if who else "",
            credential="password", client_address="10.1.2.3", forwarded_for="",
            user_agent="docker", service="registry.test:5000",
            requested=["repository:ns0/app:pull"],
            granted=["repository:ns0/app:pull"] if issued else [],
            reasons={"repository:ns0/app:pull": {"pull": "team viewer"}} if issued else {},
            outcome="issued" if issued else "refused",
            refusal="" if issued else "invalid username or password",
            jti=secrets.token_hex(4) if issued else "", expires_at=None))


def permissions(store: Wharfinger) -> PermissionIndex:
    index, position = PermissionIndex(), 0
    while batch := read_after(store, position):
        for logged in batch:
            index.apply(logged)
        position = batch[-1].position
    return index


def check_live_equals_rebuilt(backend: str, operations: list[tuple[Any, ...]]) -> None:
    with fresh_location(backend) as location:
        store = open_log(location, Wharfinger, "events")
        audit = open_log(location, AuditTrail, "audit")
        activity = open_activity_store(location)
        try:
            logs = {"events": store, "audit": audit}
            live = ActivityProjector(activity, logs)
            history = History(store, audit)
            # Step 1: the history, with the projector catching up in random-sized batches and
            # restarting now and then
            for op in operations:
                if op[0] == "project":
                    live.step(batch_size=op[1])
                elif op[0] == "restart":  # a new process: names reloaded from the logs
                    live = ActivityProjector(activity, logs)
                else:
                    history.apply(op)
            live.catch_up(batch_size=3)
            projected, public = activity.dump(), activity.public_namespaces()
            # (the feed's public namespaces are the ones the permission projection has public)
            index = permissions(store)
            assert public == {(key, str(ns.id)) for ns in index.namespaces.values()
                              if ns.visibility is Visibility.PUBLIC
                              for key in public_keys(str(ns.id), ns.name)}
            # (so a page's audience needs no list of public namespaces from the index)
            for user_id in index.users:
                assert audience_for(index, user_id) == audience_of(viewer_of(index, user_id))
            # Step 2: drop everything and replay both logs
            rebuild(activity, logs, batch_size=5)
            # Then the feed is the same, row for row, and so is who its public namespaces reveal
            assert activity.dump() == projected
            # (and every entry's type says what it is about, as type-filtered pages assume)
            assert all(trackable_of(e.type) in (None, e.trackable) for e in projected)
            assert activity.public_namespaces() == public
            assert len(projected) > 0
        finally:
            activity.close()
            audit.close()
            store.close()


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(operations=st.lists(operation, min_size=1, max_size=40))
def test_live_and_rebuilt_feeds_are_identical(backend: str,
                                              operations: list[tuple[Any, ...]]) -> None:
    check_live_equals_rebuilt(backend, operations)
