"""`wharfinger auditor`, `wharfinger project` and `wharfinger projections rebuild`: the audit
feed's commands (issue 5, points 1 and 6)."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from domain.actors import acting_as
from domain.application import Wharfinger
from domain.audit_trail import AuditTrail
from eventstore.open import open_log
from projections.activity.projector import ActivityProjector, Summary, rebuild
from projections.activity.store import ActivityStore, StaleTrackingError, open_activity_store
from web.services import AUDIT_LOG, EVENTS_LOG, explaining_open_errors, store_location
from web.settings import Settings

READ_MODELS = ("activity",)
"""SQL read models that can be rebuilt. The permission index is in memory and rebuilt from the
log at every start, so it needs no command."""


def register(sub: Any) -> None:
    auditor = sub.add_parser("auditor", help="grant or revoke the read-only auditor role")
    auditor_sub = auditor.add_subparsers(required=True, metavar="ACTION")
    for action in ("grant", "revoke"):
        p = auditor_sub.add_parser(action, help=f"{action} the auditor role")
        p.add_argument("username")
        p.set_defaults(func=_auditor, action=action)

    project = sub.add_parser(
        "project", help="keep the activity feed current (with projections.run_in_process:"
                        " false, run this beside the servers)")
    project.add_argument("--once", action="store_true", help="catch up, then exit")
    project.add_argument("--json", action="store_true")
    project.set_defaults(func=_project)

    projections = sub.add_parser("projections", help="manage read models")
    projections_sub = projections.add_subparsers(required=True, metavar="ACTION")
    rebuild_cmd = projections_sub.add_parser(
        "rebuild", help="drop read models and replay them from the logs")
    rebuild_cmd.add_argument("name", nargs="?", choices=READ_MODELS,
                             help="the read model (default: all)")
    rebuild_cmd.add_argument("--batch-size", type=int, default=1000)
    rebuild_cmd.add_argument("--json", action="store_true",
                             help="print the summary as JSON (no progress bar)")
    rebuild_cmd.set_defaults(func=_rebuild)


@contextlib.contextmanager
def _opened(settings: Settings) -> Iterator[tuple[Wharfinger, AuditTrail, ActivityStore]]:
    location = store_location(settings)
    opened: list[Any] = []
    try:
        with explaining_open_errors(location, "the event store", EVENTS_LOG):
            opened.append(open_log(location, Wharfinger, EVENTS_LOG))
        with explaining_open_errors(location, "the audit trail", AUDIT_LOG):
            opened.append(open_log(location, AuditTrail, AUDIT_LOG))
        with explaining_open_errors(location, "the activity feed", "activity"):
            opened.append(open_activity_store(location))
        yield opened[0], opened[1], opened[2]
    finally:
        for each in reversed(opened):
            each.close()


def _logs(store: Wharfinger, audit: AuditTrail) -> dict[str, Application[UUID]]:
    return {EVENTS_LOG: store, AUDIT_LOG: audit}


def _auditor(args: argparse.Namespace, settings: Settings) -> int:
    from domain.actors import CLI as CLI_ACTOR

    with _opened(settings) as (store, _, _), acting_as(CLI_ACTOR):
        user = store.user_named(args.username)
        if args.action == "grant":
            store.grant_auditor(user.id)
        else:
            store.revoke_auditor(user.id)
    verb = "is now" if args.action == "grant" else "is no longer"
    print(f"{user.username} {verb} an auditor.")
    return 0


def _project(args: argparse.Namespace, settings: Settings) -> int:
    interval = int(settings["projections.activity.interval_ms"]) / 1000
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    total = Summary()
    with _opened(settings) as (store, audit, activity):
        projector = ActivityProjector(activity, _logs(store, audit))
        while not stop.is_set():
            try:
                summary = projector.catch_up()
            except StaleTrackingError:
                continue
            total.events += summary.events
            total.entries = summary.entries
            if args.once:
                break
            stop.wait(interval)
    _summary(args, "activity", total, started=None)
    return 0


def _rebuild(args: argparse.Namespace, settings: Settings) -> int:
    from web.cli import CliError

    if args.batch_size < 1:
        raise CliError("--batch-size must be at least 1")
    started = time.monotonic()
    with _opened(settings) as (store, audit, activity):
        bar = None if args.json or not sys.stderr.isatty() else _ProgressBar()
        summary = rebuild(activity, _logs(store, audit), batch_size=args.batch_size,
                          progress=bar.update if bar else None)
        if bar:
            bar.done()
    _summary(args, "activity", summary, started=started)
    return 0


def _summary(args: argparse.Namespace, name: str, summary: Summary,
             started: float | None) -> None:
    seconds = time.monotonic() - started if started is not None else summary.seconds
    data = {"read_model": name, "events": summary.events, "entries": summary.entries,
            "seconds": round(seconds, 3)}
    if args.json:
        print(json.dumps(data))
    else:
        rate = f", {summary.events / seconds:,.0f} events/s" if seconds > 0 else ""
        print(f"{name}: replayed {summary.events:,} events into {summary.entries:,} entries"
              f" in {seconds:.1f}s{rate}")


class _ProgressBar:
    """One line on stderr, redrawn: how far each log has been replayed."""

    WIDTH = 30

    def __init__(self) -> None:
        self.state: dict[str, tuple[int, int]] = {}

    def update(self, log: str, position: int, head: int) -> None:
        self.state[log] = (position, head)
        done = sum(min(p, h) for p, h in self.state.values())
        total = sum(h for _, h in self.state.values()) or 1
        filled = self.WIDTH * done // total
        detail = "  ".join(f"{name} {p:,}/{h:,}" for name, (p, h) in self.state.items())
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (self.WIDTH - filled)}]"
                         f" {100 * done // total:3d}%  {detail}")
        sys.stderr.flush()

    def done(self) -> None:
        sys.stderr.write("\n")
