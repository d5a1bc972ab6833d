"""Keeping the activity feed current: follow both logs in batches, each batch one transaction.

The projector is blocking (reading the logs, describing events, writing rows): run it in a thread
of its own, never on the event loop. Descriptions need names from earlier change-log events, so
on start it folds the change log up to the feed's tracked position into a `Directory` (the
change log is small; the audit trail, the big one, needs no such fold).
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.application import Application

from eventstore.reader import LoggedEvent, head_position
from projections.activity.entries import CHANGE_LOG, Directory, describe_fields
from projections.activity.reading import SKIPPED, LogReader
from projections.activity.store import LOGS, ActivityStore, StaleTrackingError, row_of

REBUILD_WRITE_EVENTS = 10_000
"""A rebuild writes the entries of this many events per transaction, whatever the batches it
reads: each transaction's round trips and commit cost as much as thousands of rows."""

Progress = Callable[[str, int, int], None]
"""(log name, position reached, head of that log)"""


@dataclass
class Summary:
    events: int = 0
    entries: int = 0
    seconds: float = 0.0


class ActivityProjector:
    def __init__(self, store: ActivityStore, logs: dict[str, Application[UUID]]) -> None:
        unknown = set(logs) - set(LOGS)
        if unknown:
            raise ValueError(f"unknown logs: {sorted(unknown)}")
        self.store = store
        self.logs = logs
        self.readers = {name: LogReader(app) for name, app in logs.items()}
        """Each log's records, decoded only as far as the feed needs (reading.py)."""
        self.positions: dict[str, int] = {}
        self.directory = Directory()
        self._loaded = False

    def load(self) -> None:
        """Read the tracked positions and rebuild the names known at the change-log position."""
        self.positions = self.store.positions()
        self.directory = Directory()
        change_log = self.readers.get(CHANGE_LOG)
        target = self.positions.get(CHANGE_LOG, 0)
        position = 0
        while change_log is not None and position < target:
            batch = change_log.read_after(position, 1000)
            if not batch:
                break
            for logged in batch:
                if logged.position > target:
                    position = target
                    break
                if logged.event is not SKIPPED:
                    self.directory.apply(logged.event)
                position = logged.position
        self._loaded = True

    def step(self, batch_size: int = 500) -> int:
        """Project at most one batch from each log; returns the number of events read."""
        if not self._loaded:
            self.load()
        read = 0
        for name, reader in self.readers.items():
            batch = reader.read_after(self.positions.get(name, 0), batch_size)
            if batch:
                self.project(name, batch)
                read += len(batch)
        return read

    def project(self, name: str, batch: list[LoggedEvent]) -> None:
        """Describe and write one batch read from log `name` after its tracked position
        (`LoggedEvent`s, or `LogReader`'s: SKIPPED records are only counted)."""
        if not self._loaded:
            self.load()
        after = self.positions.get(name, 0)
        rows = []
        touched: set[UUID] = set()
        for logged in batch:
            if logged.event is SKIPPED:
                continue
            fields = describe_fields(name, logged, self.directory)
            if fields is not None:
                rows.append(row_of(fields))
            if name == CHANGE_LOG:
                namespace_id = self.directory.apply(logged.event)
                if namespace_id is not None:
                    touched.add(namespace_id)
        public = {str(n): self.directory.namespaces[n][0] if n in self.directory.public
                  else None for n in touched}
        try:
            self.store.write_rows(name, rows, after=after, upto=batch[-1].position,
                                  public=public)
        except BaseException:
            # The directory saw events whose rows were not written: start over from the
            # store's positions, whoever moved them.
            self._loaded = False
            raise
        self.positions[name] = batch[-1].position

    def catch_up(self, batch_size: int = 1000, progress: Progress | None = None) -> Summary:
        """Project until both logs are exhausted (as of now). Blocking."""
        started = time.monotonic()
        summary = Summary()
        heads = {name: head_position(app) for name, app in self.logs.items()}
        while True:
            try:
                read = self.step(batch_size)
            except StaleTrackingError:
                continue
            summary.events += read
            if progress is not None:
                for name, head in heads.items():
                    progress(name, self.positions.get(name, 0), head)
            if read == 0:
                break
        summary.entries = self.store.count()
        summary.seconds = time.monotonic() - started
        return summary


def rebuild(store: ActivityStore, logs: dict[str, Application[UUID]], *,
            batch_size: int = 1000, progress: Progress | None = None) -> Summary:
    """Drop the feed's tables and replay both logs into fresh ones. Blocking.

    Run it with the in-process projectors stopped (`projections.run_in_process: false` or the
    service down): a projector still running notices the reset position and starts over too,
    which is correct but does the work twice.
    """
    started = time.monotonic()
    store.drop()
    store.create(indexes=False)  # loading rows, then building each index once, is faster
    projector = ActivityProjector(store, logs)
    summary = Summary()
    with _collector_paused():
        try:
            for name, app in logs.items():
                # The audit trail's entries need no names from the change log, so each log is
                # replayed whole in turn, its next batch read while this one is written.
                head = head_position(app)
                pending: list[LoggedEvent] = []
                for batch in _read_ahead(projector.readers[name], batch_size):
                    pending.extend(batch)
                    if len(pending) >= REBUILD_WRITE_EVENTS:
                        projector.project(name, pending)
                        pending = []
                    summary.events += len(batch)
                    if progress is not None:
                        progress(name, batch[-1].position, head)
                if pending:
                    projector.project(name, pending)
        except StaleTrackingError:  # someone else projects too: go on from where they are
            summary.events += projector.catch_up(batch_size, progress).events
    store.create_indexes()
    summary.entries = store.count()
    summary.seconds = time.monotonic() - started
    return summary


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while replaying: the rebuild's events, entries and rows
    form no cycles (reference counting frees them), but the millions it allocates set off full
    collections that walk every object of the process again and again, ~15% of a rebuild's CPU
    (bench.feed, 50k events). A rebuild runs in a process of its own (`wharfinger projections
    rebuild`), so pausing the collector holds back nobody else's garbage."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _read_ahead(log: LogReader, batch_size: int) -> Iterator[list[LoggedEvent]]:
    """The whole log in batches, each read in a thread while the caller works on the last
    (reading waits on the database and decoding, writing on the database: they overlap)."""
    with ThreadPoolExecutor(1, thread_name_prefix="wharfinger-feed-read") as reader:
        pending = reader.submit(log.read_after, 0, batch_size)
        while batch := pending.result():
            pending = reader.submit(log.read_after, batch[-1].position, batch_size)
            yield batch
