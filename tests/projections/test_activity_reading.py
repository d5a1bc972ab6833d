"""The feed's reader (projections.activity.reading), on SQLite and PostgreSQL: records the feed
ignores and the directory does not fold are passed over undecoded, and the feed written from the
reader's records is the one the mapper's events describe."""

from __future__ import annotations

from domain.actors import acting_as
from domain.application import Wharfinger
from domain.audit_trail import AuditTrail
from domain.decisions import example
from eventstore.location import StoreLocation
from eventstore.open import open_log
from eventstore.reader import read_after
from projections.activity.entries import AUDIT_LOG, CHANGE_LOG, Directory, describe
from projections.activity.projector import ActivityProjector
from projections.activity.reading import SKIPPED, LogReader
from projections.activity.store import open_activity_store


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
