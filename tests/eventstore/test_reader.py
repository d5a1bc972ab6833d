"""Reading a log for a few topics (eventstore.reader.read_after with `topics`): the matches in
order, then a marker at the head, so a follower of pulls in a trail of token decisions moves
past the rows it read instead of scanning them again at every poll (both backends)."""

from __future__ import annotations

from eventsourcing.utils import get_topic

from domain.audit_trail import AuditTrail
from domain.decisions import example
from domain.repositories import ManifestPulled
from eventstore.reader import PASSED_OVER, read_after
from projections.repositories import RepositoryCatalog
from tests.audit_facts import pull

PULLS = (get_topic(ManifestPulled),)





def test_matches_then_the_head_and_nothing_read_twice(audit: AuditTrail) -> None:
    assert read_after(audit, 0, 10, PULLS) == []  # an empty log: nothing, no marker
    first = audit.record(pull(1))
    for _ in range(5):
        audit.record(example())
    head = audit.record(example())
    read = read_after(audit, 0, 10, PULLS)
    assert [r.position for r in read] == [first, head]
    assert isinstance(read[0].event, ManifestPulled) and read[1].event is PASSED_OVER
    # From the head: nothing more to read, so nothing is scanned again.
    assert read_after(audit, head, 10, PULLS) == []
    # Only decisions since: the marker moves the reader to the new head.
    newer = audit.record(example())
    assert [(r.position, r.event) for r in read_after(audit, head, 10, PULLS)] == [
        (newer, PASSED_OVER)]


def test_a_full_batch_has_no_marker_and_the_next_one_goes_on(audit: AuditTrail) -> None:
    positions = [audit.record(pull(n)) for n in range(3)]
    audit.record(example())
    read = read_after(audit, 0, 2, PULLS)
    assert [r.position for r in read] == positions[:2]  # as many as asked: maybe more to come
    rest = read_after(audit, read[-1].position, 2, PULLS)
    assert rest[0].position == positions[2] and rest[-1].event is PASSED_OVER


def test_the_catalog_skips_the_marker_and_notes_the_position(audit: AuditTrail) -> None:
    catalog = RepositoryCatalog()
    audit.record(example())
    for logged in read_after(audit, 0, 10, PULLS):
        catalog.apply_audit(logged)
    assert catalog.audit_position == audit.recorder.max_notification_id()
    assert catalog.last_notification_at is None  # no pull was noted
