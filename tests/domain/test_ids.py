"""Time-ordered fact ids (domain.ids): RFC 9562 version 7, ordered by the millisecond of their
creation, random below it, and what Fact.new gives a fact by default."""

from __future__ import annotations

import time
import uuid
from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st

from domain.decisions import example
from domain.ids import name_id, time_ordered_id
from domain.repositories import ManifestPulled


def millis(value: UUID) -> int:
    return value.int >> 80


def test_version_7_layout_with_the_creation_time() -> None:
    before = time.time_ns() // 1_000_000
    made = time_ordered_id()
    after = time.time_ns() // 1_000_000
    assert made.version == 7
    assert made.variant == "specified in RFC 4122"
    assert before <= millis(made) <= after


def test_ordered_across_milliseconds_and_unique_within_one() -> None:
    ids = []
    for _ in range(5):
        ids += [time_ordered_id() for _ in range(20_000)]
        time.sleep(0.002)
    assert len(set(ids)) == len(ids)
    stamps = [millis(i) for i in ids]
    assert stamps == sorted(stamps)
    # Ids of different milliseconds sort by time, whatever their random bits.
    first, last = ids[0], ids[-1]
    assert millis(first) < millis(last) and first < last
    # Below the millisecond they are random: many distinct values of the 74 random bits.
    assert len({i.int & ((1 << 74) - 1) for i in ids[:1000]}) == 1000


def test_facts_get_time_ordered_ids_unless_given_one() -> None:
    pulled = ManifestPulled.new(
        repository="a/b", tag="v1", digest="sha256:" + "0" * 64, media_type="x", event_id="e",
        request_id="", client_addr="", user_agent="", registry_instance="", occurred_at="")
    assert pulled.originator_id.version == 7
    assert example().originator_id.version == 7


def test_unique_across_threads_drawing_at_once() -> None:
    """Each thread reads the kernel's generator in blocks of its own: no two threads hand out
    the same bytes, and a block's end is crossed without repeating."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        batches = list(pool.map(lambda _: [time_ordered_id() for _ in range(5_000)], range(8)))
    ids = [i for batch in batches for i in batch]
    assert len(set(ids)) == len(ids) == 40_000
    assert len({i.int & ((1 << 74) - 1) for i in ids}) == 40_000


def test_a_forked_child_draws_fresh_bytes() -> None:
    import os

    time_ordered_id()  # the parent has a block under way
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe and exits
        os.write(write, time_ordered_id().bytes)
        os._exit(0)
    os.close(write)
    from_child = UUID(bytes=os.read(read, 16))
    os.waitpid(child, 0)
    os.close(read)
    assert from_child.int & ((1 << 74) - 1) != time_ordered_id().int & ((1 << 74) - 1)


@given(namespace=st.uuids(), name=st.text())
def test_name_ids_are_uuid5(namespace: UUID, name: str) -> None:
    """name_id builds uuid.uuid5's id itself: the same value, version, variant, hash and
    text, for any namespace and any name (one that UTF-8 cannot encode fails the same way)."""
    try:
        expected = uuid.uuid5(namespace, name)
    except UnicodeEncodeError:
        try:
            name_id(namespace, name)
        except UnicodeEncodeError:
            return
        raise AssertionError("name_id encoded what uuid5 could not") from None
    made = name_id(namespace, name)
    assert made == expected and made.int == expected.int and hash(made) == hash(expected)
    assert (made.version, made.variant, str(made)) == (5, uuid.RFC_4122, str(expected))
    assert made.is_safe == expected.is_safe
