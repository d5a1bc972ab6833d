"""Tokens by jti: the side table finds the first record of a jti with one key lookup, keeps up
with the audit trail as it grows, and is rebuilt from the log alone (both backends)."""

from __future__ import annotations

from uuid import uuid4

from domain.audit_trail import AuditTrail
from domain.decisions import ISSUED, TokenRequestDecided
from domain.facts import Fact
from eventstore.location import StoreLocation
from eventstore.side_tables import SideTables
from projections.jti_index import JtiIndex
from tests.audit_facts import pull


class OtherFactWithJti(Fact):
    """Any fact with a `jti` is indexed, not only the token endpoint's decision records."""

    jti: str


def decision(jti: str, subject: str = "alice") -> TokenRequestDecided:
    return TokenRequestDecided.new(
        subject=subject, subject_id="", credential="password", client_address="10.0.0.1",
        forwarded_for="", user_agent="docker", service="registry.test",
        requested=["repository:a/b:pull"], granted=["repository:a/b:pull"],
        reasons={"repository:a/b": {"pull": "member"}}, outcome=ISSUED, refusal="", jti=jti,
        expires_at=None)





def test_finds_each_jti_by_key_and_keeps_up_as_the_trail_grows(
        location: StoreLocation, audit: AuditTrail) -> None:
    index = JtiIndex(SideTables(location), audit)
    assert index.find("nothing-yet") is None
    positions = {}
    for n in range(30):
        audit.record(pull(n))  # facts without a jti are read past, never indexed
        positions[f"jti-{n}"] = audit.record(decision(f"jti-{n}", subject=f"user{n}"))
    audit.record(decision(""))  # a refusal carries no jti
    later = audit.record(OtherFactWithJti.new(jti="jti-other"))
    assert index.catch_up(batch=7) == 62
    assert index.head() == later

    found = index.find("jti-17")
    assert found is not None and found.position == positions["jti-17"]
    assert found.event.subject == "user17" and found.event.jti == "jti-17"
    other = index.find("jti-other")
    assert other is not None and isinstance(other.event, OtherFactWithJti)
    assert index.find("") is None and index.find("jti-unknown") is None

    # A record appended after the last catch-up is found: a lookup indexes what is new first.
    newest = audit.record(decision("jti-new"))
    found_new = index.find("jti-new")
    assert found_new is not None and found_new.position == newest
    # The same jti again (a record replayed by a bug or a test): the first record wins.
    audit.record(decision("jti-3", subject="someone-else"))
    again = index.find("jti-3")
    assert again is not None and again.position == positions["jti-3"]


def self_identified(subject: str = "alice") -> TokenRequestDecided:
    """A record as the token endpoint writes it: the token's jti is the record's id."""
    fact_id = uuid4()
    return TokenRequestDecided.new(
        fact_id=fact_id, subject=subject, subject_id="", credential="password",
        client_address="10.0.0.1", forwarded_for="", user_agent="docker",
        service="registry.test", requested=["repository:a/b:pull"],
        granted=["repository:a/b:pull"], reasons={"repository:a/b": {"pull": "member"}},
        outcome=ISSUED, refusal="", jti=fact_id.hex, expires_at=None)


def test_a_token_whose_jti_is_its_record_id_is_found_by_key_and_never_indexed(
        location: StoreLocation, audit: AuditTrail) -> None:
    side = SideTables(location)
    index = JtiIndex(side, audit)
    legacy = audit.record(decision("0" * 32, subject="legacy"))  # hex, but not its own id
    records = [self_identified(f"user{n}") for n in range(20)]
    positions = [audit.record(record) for record in records]
    a_pull = pull(1)
    audit.record(a_pull)
    assert index.catch_up() == 22
    with side.transaction() as cur:
        cur.execute(side.render("SELECT jti, position FROM {t:token_jti}"))
        # Only the record whose jti is not its id needs a row; the others are never decoded.
        assert [tuple(r) for r in cur.fetchall()] == [("0" * 32, legacy)]
    for record, position in zip(records, positions, strict=True):
        found = index.find(record.jti)
        assert found is not None and found.position == position
        assert found.event.subject == record.subject
    old = index.find("0" * 32)
    assert old is not None and old.position == legacy and old.event.subject == "legacy"
    # The id of a fact that is not that token's record is not a token.
    assert index.find(a_pull.originator_id.hex) is None
    assert index.find(uuid4().hex) is None
    # Upper case is not how a jti is written: not found by key, and no index row has it.
    assert index.find(records[0].jti.upper()) is None


def test_lookups_read_the_index_not_the_trail(location: StoreLocation,
                                              audit: AuditTrail) -> None:
    """Once indexed, a lookup reads one record of the trail, whatever its length."""
    index = JtiIndex(SideTables(location), audit)
    for n in range(50):
        audit.record(decision(f"jti-{n}"))
    index.catch_up()
    reads: list[int] = []
    select = audit.recorder.select_notifications

    def counting(*args: object, **kwargs: object) -> object:
        found = select(*args, **kwargs)  # type: ignore[arg-type]
        reads.append(len(found))
        return found

    audit.recorder.select_notifications = counting  # type: ignore[method-assign]
    found = index.find("jti-2")
    assert found is not None and found.event.jti == "jti-2"
    assert sum(reads) == 1, reads  # the record itself; the catch-up found nothing new


def test_rebuilt_from_the_log_alone(location: StoreLocation, audit: AuditTrail) -> None:
    side = SideTables(location)
    index = JtiIndex(side, audit)
    for n in range(20):
        audit.record(decision(f"jti-{n}"))
    index.catch_up()
    with side.transaction() as cur:
        cur.execute(side.render("SELECT jti, position FROM {t:token_jti} ORDER BY position"))
        before = cur.fetchall()
        # Derived data can be lost or edited: a rebuild restores it from the log.
        cur.execute(side.render("DELETE FROM {t:token_jti} WHERE jti = 'jti-5'"))
        cur.execute(side.render("UPDATE {t:token_jti} SET position = 1 WHERE jti = 'jti-9'"))
    assert index.rebuild() == 20
    with side.transaction() as cur:
        cur.execute(side.render("SELECT jti, position FROM {t:token_jti} ORDER BY position"))
        assert [tuple(r) for r in cur.fetchall()] == [tuple(r) for r in before]
    assert len(before) == 20
    found = index.find("jti-5")
    assert found is not None and found.event.jti == "jti-5"
