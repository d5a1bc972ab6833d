"""Decision records built as rows (eventstore.fact_rows) and appended in one statement
(eventstore.append), on SQLite and PostgreSQL: the stored bytes are exactly the mapper's, every
reader decodes them as before, and positions come back in log order."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.audit_trail import AuditTrail
from domain.decisions import TokenRequestDecided, example
from eventstore.append import ROWS_PER_STATEMENT, append_rows
from eventstore.fact_rows import FactRows
from eventstore.location import StoreLocation
from eventstore.open import open_log
from eventstore.reader import head_position, read_after

text = st.text(max_size=40)
decisions = st.fixed_dictionaries({
    "actor": text, "subject": text, "subject_id": text, "credential": text,
    "client_address": text, "forwarded_for": text, "user_agent": text, "service": text,
    "requested": st.lists(text, max_size=3), "granted": st.lists(text, max_size=3),
    "reasons": st.dictionaries(text, st.dictionaries(text, text, max_size=3), max_size=3),
    "outcome": st.sampled_from(["issued", "refused"]), "refusal": text, "jti": text,
    "expires_at": st.none() | st.datetimes(timezones=st.just(UTC)),
    "timestamp": st.datetimes(timezones=st.just(UTC)),
})


FIELDS = tuple(f.name for f in fields(TokenRequestDecided)
               if f.name not in ("originator_id", "originator_version", "timestamp"))


def values_of(fact: TokenRequestDecided, **changes: Any) -> dict[str, Any]:
    """The fields a row is built from (all but the id and the time), with `changes`."""
    return {**{name: getattr(fact, name) for name in FIELDS}, **changes}




def test_rows_are_the_mappers_bytes(audit: AuditTrail) -> None:
    rows = FactRows(audit, TokenRequestDecided, example())
    assert rows.fast

    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(values=decisions)
    def check(values: dict[str, Any]) -> None:
        row = rows.row(**dict(values))
        fact = audit.mapper.to_domain_event(row)
        assert isinstance(fact, TokenRequestDecided)
        assert {name: getattr(fact, name) for name in values} == values
        # Re-encoding what was decoded gives the very same bytes: the Merkle leaves, bundles
        # and verification see a row they could have written themselves.
        assert audit.mapper.to_stored_event(fact) == row

    check()


def test_a_missing_field_is_an_error_not_a_row(audit: AuditTrail) -> None:
    rows = FactRows(audit, TokenRequestDecided, example())
    values = values_of(example())
    del values["service"]
    with pytest.raises(TypeError, match="needs"):
        rows.row(**values)


class CompressedAuditTrail(AuditTrail):
    """A log whose rows are compressed: the fast rows would differ from the mapper's."""

    env: ClassVar[dict[str, str]] = {
        "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor"}


def test_another_format_falls_back_to_the_mapper(location: StoreLocation) -> None:
    # A compressed log: the fast rows would differ, so they are not used and rows still decode
    app = open_log(location, CompressedAuditTrail, "audit")
    try:
        rows = FactRows(app, TokenRequestDecided, example())
        assert not rows.fast
        row = rows.row(**values_of(example()))
        fact = app.mapper.to_domain_event(row)
        assert isinstance(fact, TokenRequestDecided) and fact.user_agent == example().user_agent
    finally:
        app.close()


def test_batches_append_in_order_with_their_positions(audit: AuditTrail) -> None:
    rows = FactRows(audit, TokenRequestDecided, example())
    values = values_of(example())
    del values["jti"]
    assert append_rows(audit, []) == 0
    # Step 1: one row, then a batch larger than one statement holds
    first = append_rows(audit, [rows.row(jti="j-0", **values)])
    assert first == head_position(audit) == 1
    batch = [rows.row(jti=f"j-{i}", **values) for i in range(1, ROWS_PER_STATEMENT * 2 + 8)]
    last = append_rows(audit, batch)
    assert last == head_position(audit) == 1 + len(batch)
    # Step 2: read back in the order written, each decoded by the mapper
    logged = read_after(audit, 0, 10_000)
    assert [e.position for e in logged] == list(range(1, last + 1))
    assert [e.event.jti for e in logged] == [f"j-{i}" for i in range(last)]
    assert all(e.event.timestamp.tzinfo is not None for e in logged)
    # Step 3: a batch with a duplicate id fails as a whole: nothing of it is stored
    again = [rows.row(jti="j-x", **values), batch[0]]
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        append_rows(audit, again)
    assert head_position(audit) == last


def test_timestamps_default_to_now(audit: AuditTrail) -> None:
    rows = FactRows(audit, TokenRequestDecided, example())
    before = datetime.now(UTC)
    sample = example()
    row = rows.row(**values_of(sample))
    fact = audit.mapper.to_domain_event(row)
    assert before <= fact.timestamp <= datetime.now(UTC)
    assert row.originator_version == 1 and row.originator_id != sample.originator_id


def test_a_template_makes_the_same_bytes_as_row(audit: AuditTrail) -> None:
    rows = FactRows(audit, TokenRequestDecided, example())

    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(values=decisions, fixed=st.sets(st.sampled_from(FIELDS)), data=st.data())
    def check(values: dict[str, Any], fixed: set[str], data: st.DataObject) -> None:
        # Any split of the fields into fixed and varying: the very row `row` makes
        template = rows.template(**{name: values[name] for name in fixed})
        varying = {name: value for name, value in values.items() if name not in fixed}
        fact_id = data.draw(st.uuids())
        made = template.row(fact_id=fact_id, **varying)
        assert made == rows.row(fact_id=fact_id, **values)
        fact = audit.mapper.to_domain_event(made)
        assert {name: getattr(fact, name) for name in values} == values

    check()


def test_a_template_refuses_what_row_would_not_store(audit: AuditTrail) -> None:
    rows = FactRows(audit, TokenRequestDecided, example())
    values = values_of(example())
    with pytest.raises(TypeError, match="no fixed field"):
        rows.template(colour="blue")
    with pytest.raises(TypeError, match="timestamp"):
        rows.template(timestamp=datetime.now(UTC))
    template = rows.template(**{k: v for k, v in values.items() if k != "jti"})
    with pytest.raises(TypeError, match="needs"):
        template.row()  # jti missing
    with pytest.raises(TypeError, match="needs"):
        template.row(jti="j", service="another")  # a fixed field given again
    # Each row gets its own id unless one is given
    first, second = template.row(jti="a"), template.row(jti="b")
    assert first.originator_id != second.originator_id


def test_a_template_of_another_format_goes_through_the_mapper(location: StoreLocation) -> None:
    app = open_log(location, CompressedAuditTrail, "audit")
    try:
        rows = FactRows(app, TokenRequestDecided, example())
        assert not rows.fast
        values = values_of(example())
        jti = values.pop("jti")
        fact = app.mapper.to_domain_event(rows.template(**values).row(jti=jti))
        assert isinstance(fact, TokenRequestDecided)
        assert values_of(fact) == values_of(example())
    finally:
        app.close()
