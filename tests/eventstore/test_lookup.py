"""A fact by its id (eventstore.lookup): the same position, topic and bytes as reading the log
in order returns for it, on SQLite and PostgreSQL. It reads the library's table directly, so this
is where a library upgrade that changes the table would show."""

from __future__ import annotations

from uuid import uuid4

from domain.audit_trail import AuditTrail
from domain.decisions import example
from eventstore.lookup import find_fact
from tests.audit_facts import pull


def test_finds_each_fact_where_the_log_has_it(audit: AuditTrail) -> None:
    facts = [pull(n) if n % 3 else example() for n in range(12)]
    for fact in facts:
        audit.record(fact)
    in_order = audit.recorder.select_notifications(start=None, limit=100)
    assert len(in_order) == 12
    for notification in in_order:
        found = find_fact(audit, notification.originator_id)
        assert found is not None
        assert (found.id, found.originator_id, found.originator_version, found.topic,
                found.state) == (notification.id, notification.originator_id, 1,
                                 notification.topic, notification.state)
        assert audit.mapper.to_domain_event(found) == audit.mapper.to_domain_event(notification)


def test_an_unknown_id_is_none(audit: AuditTrail) -> None:
    audit.record(pull(1))
    assert find_fact(audit, uuid4()) is None
