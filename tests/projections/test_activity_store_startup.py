"""A node starting while another writes its feed: creating the feed's tables must not deadlock
with a write in flight (seen once with two PostgreSQL nodes starting together)."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from psycopg import sql

from eventstore.location import StoreLocation
from projections.activity.store import open_activity_store


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_create_waits_for_a_write_in_flight_instead_of_deadlocking(
        location: StoreLocation) -> None:
    store = open_activity_store(location)
    store.close()
    assert location.postgres is not None
    schema = location.postgres.schema
    errors: list[BaseException] = []
    with psycopg.connect(location.postgres.conninfo()) as writer:
        # A write in flight, in the order ActivityStore.write takes its locks: the tracking row
        # first, then the entries table (what its INSERT takes).
        writer.execute(sql.SQL("UPDATE {}.activity_tracking SET position = position"
                               " WHERE log = 'events'").format(sql.Identifier(schema)))

        def start_another_node() -> None:
            try:
                open_activity_store(location).close()
            except BaseException as e:  # reported by the assertion below
                errors.append(e)

        starting = threading.Thread(target=start_another_node)
        starting.start()
        time.sleep(0.5)  # let the starting node get as far as it can
        writer.execute(sql.SQL("LOCK TABLE {}.activity_entries IN ROW EXCLUSIVE MODE").format(
            sql.Identifier(schema)))
        writer.commit()
        starting.join(30)
    assert not starting.is_alive()
    assert errors == []
