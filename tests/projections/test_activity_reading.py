"""The feed's reader (projections.activity.reading), on SQLite and PostgreSQL: records the feed
ignores and the directory does not fold are passed over undecoded, and the feed written from the
reader's records is the one the mapper's events describe."""

from __future__ import annotations

from typing import Any

from domain.actors import acting_as
from domain.application import Wharfinger
from domain.audit_trail import AuditTrail
from domain.decisions import example
from domain.repositories import ManifestPulled
from domain.values import Role, Visibility
from eventstore.location import StoreLocation
from eventstore.open import open_log
from eventstore.reader import read_after
from projections.activity.entries import AUDIT_LOG, CHANGE_LOG, COLUMNS, Directory, describe
from projections.activity.projector import ActivityProjector
from projections.activity.reading import SKIPPED, LogReader
from projections.activity.store import open_activity_store, stored_row

STORED = (*COLUMNS, "audience", "public_ns")
PULL: dict[str, Any] = {"repository": "webns/app", "tag": "v1", "digest": "sha256:" + "a" * 64,
        "media_type": "application/vnd.oci.image.manifest.v1+json", "event_id": "e1",
        "request_id": "r1", "client_addr": "192.0.2.7", "user_agent": "docker/27",
        "registry_instance": "i1", "occurred_at": "2026-01-01T00:00:00Z"}


def test_records_nobody_needs_are_passed_over(location: StoreLocation) -> None:
    app = open_log(location, Wharfinger, "events")
    store = open_activity_store(location)
    try:
        with acting_as("admin"):
            app.register_user(username="zoe", email="zoe@example.org", password_hash=None)
            app.register_user(username="yann", email="yann@example.org", password_hash=None)
        read = LogReader(app).read_after(0, 100)
        decoded = read_after(app, 0, 100)
        skipped = [d.event for r, d in zip(read, decoded, strict=True) if r.event is SKIPPED]
        assert skipped and all(type(e).__qualname__ == "NameClaim.Claimed" for e in skipped)
        # The feed written from the reader's records is the one the mapper's events describe.
        projector = ActivityProjector(store, {CHANGE_LOG: app})
        projector.step()
        directory = Directory()
        expected = []
        for logged in decoded:
            entry = describe(CHANGE_LOG, logged, directory)
            if entry is not None:
                expected.append(entry)
            directory.apply(logged.event)
        assert store.dump() == expected
        assert projector.positions[CHANGE_LOG] == decoded[-1].position
    finally:
        store.close()
        app.close()


def test_audit_facts_are_all_read(location: StoreLocation) -> None:
    audit = open_log(location, AuditTrail, "audit")
    try:
        audit.record(example(), example())
        read = LogReader(audit).read_after(0, 10)
        assert [r.event for r in read] == [d.event for d in read_after(audit, 0, 10)]
        assert all(describe(AUDIT_LOG, r, Directory()) is not None for r in read)
    finally:
        audit.close()


def test_the_projector_stores_each_entry_as_its_stored_row(location: StoreLocation) -> None:
    # The projector builds rows from the described fields (store.row_of), not from Entry
    # objects: its rows, keys included, are the ones stored_row makes of describe's entries.
    app = open_log(location, Wharfinger, "events")
    audit = open_log(location, AuditTrail, "audit")
    store = open_activity_store(location)
    try:
        with acting_as("admin"):
            app.register_registry(name="main", hostname="registry.test:5000")
            zoe = app.register_user(username="zoe", email="zoe@example.org", password_hash=None)
            yann = app.register_user(username="yann", email="yann@example.org",
                                     password_hash=None)
            team = app.create_team(name="web", owner_id=zoe.id)
            app.add_member(team.id, yann.id, Role.VIEWER)
            namespace = app.create_namespace(name="webns", team_id=team.id)
            app.change_visibility(namespace.id, Visibility.PUBLIC)
        audit.record(example(), ManifestPulled.new(actor="zoe", **PULL))
        ActivityProjector(store, {CHANGE_LOG: app, AUDIT_LOG: audit}).catch_up()
        expected = []
        for name, log in ((CHANGE_LOG, app), (AUDIT_LOG, audit)):
            directory = Directory()
            for logged in read_after(log, 0, 100):
                entry = describe(name, logged, directory)
                if entry is not None:
                    expected.append(stored_row(entry))
                directory.apply(logged.event)
        with store._connect() as conn:
            stored = [tuple(row) for row in conn.execute(
                f"SELECT {', '.join(STORED)} FROM activity_entries"  # noqa: S608 - constants
                " ORDER BY log DESC, position").fetchall()]
        assert stored == expected
        assert {row[3] for row in stored} >= {
            "team.add_member", "namespace.change_visibility", "token.issue", "repository.pull"}
    finally:
        store.close()
        audit.close()
        app.close()
