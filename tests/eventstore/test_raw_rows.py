"""Raw rows (eventstore.raw_rows) are what reading the log through the library returns, field
by field, on SQLite and PostgreSQL; and the Merkle tree hashes the same bytes either way. It
reads the library's table directly, so this is where a library upgrade that changes the table
would show."""

from __future__ import annotations

from domain.audit_trail import AuditTrail
from domain.decisions import example
from eventstore.raw_rows import raw_rows_after
from eventstore.tlog import StoredRow, canonical_bytes, row_leaf_hash, stored_rows
from tests.audit_facts import pull


def test_raw_rows_are_the_librarys_notifications(audit: AuditTrail) -> None:
    for n in range(25):
        audit.record(pull(n) if n % 4 else example())
    expected = [(n.id, str(n.originator_id), n.originator_version, n.topic, bytes(n.state))
                for n in audit.recorder.select_notifications(start=None, limit=100)]
    assert len(expected) == 25
    assert raw_rows_after(audit, 0, 100) == expected
    # Pages: after a position, bounded, and empty past the end.
    assert raw_rows_after(audit, expected[9][0], 5) == expected[10:15]
    assert raw_rows_after(audit, expected[-1][0], 5) == []
    # Paging through stored_rows in small batches gives every row once, in order.
    assert [tuple(vars(r).values()) for r in stored_rows(audit, 0, 7)] == expected
    assert list(stored_rows(audit, expected[20][0], 2)) == [StoredRow(*r) for r in expected[21:]]


def test_the_leaf_bytes_name_the_event_as_the_library_does(audit: AuditTrail) -> None:
    audit.record(pull(1))
    (notification,) = audit.recorder.select_notifications(start=None, limit=1)
    (row,) = stored_rows(audit)
    assert canonical_bytes(row.originator_id, row.version, row.topic, row.state) == (
        canonical_bytes(notification.originator_id, notification.originator_version,
                        notification.topic, notification.state))


def test_sealing_hashes_a_raw_row_as_verification_hashes_its_stored_row(
        audit: AuditTrail) -> None:
    for n in range(5):
        audit.record(pull(n) if n % 2 else example())
    rows = raw_rows_after(audit, 0, 10)
    assert [row_leaf_hash(*raw[1:]) for raw in rows] == [
        row.leaf_hash for row in stored_rows(audit)]
