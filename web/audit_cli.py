"""`wharfinger audit …`: time travel, tamper evidence and evidence bundles from the command line."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

from domain.actors import CLI as CLI_ACTOR
from domain.audit_trail import AuditTrail
from domain.errors import InvalidInputError
from eventstore.bundle import BundleError, export_bundle, verify_bundle
from eventstore.open import open_log
from eventstore.signed_note import NoteError
from projections import time_travel
from web.audit_tools import AuditTools, audit_tools
from web.checkpoint_key import fold_checkpoint_key, load_or_create_signer
from web.log_verification import hold_waiting, note_of, verification_lock, verify_holding
from web.services import AUDIT_LOG, explaining_open_errors, opened_event_log, store_location
from web.settings import Settings


def register(sub: Any) -> None:
    audit = sub.add_parser("audit", help="time travel, tamper evidence and evidence bundles")
    actions = audit.add_subparsers(required=True, metavar="ACTION")

    perms = actions.add_parser(
        "permissions", help="what a user could pull, push and delete at a time, and why")
    perms.add_argument("username")
    _times(perms)
    perms.set_defaults(func=_permissions)

    access = actions.add_parser(
        "access", help="who could pull, push and delete in a namespace or repository")
    target = access.add_mutually_exclusive_group(required=True)
    target.add_argument("--namespace")
    target.add_argument("--repository", help="e.g. team/app (or app in the global namespace)")
    _times(access)
    access.set_defaults(func=_access)

    explain = actions.add_parser("explain-token", help="why a token (by its jti) was issued")
    explain.add_argument("jti", help="the token's jti (one issued before 2026-11-29 may start"
                                     " with '-': put it after --)")
    explain.add_argument("--json", action="store_true")
    explain.set_defaults(func=_explain)

    checkpoint = actions.add_parser(
        "checkpoint", help="seal the logs and sign a checkpoint of each (C2SP tlog-checkpoint)")
    checkpoint.add_argument("--log", choices=LOGS, action="append",
                            help="only this log (default: both)")
    checkpoint.add_argument("--json", action="store_true")
    checkpoint.add_argument("--out", metavar="FILE",
                            help="with one --log: write its signed checkpoint to FILE, to keep")
    checkpoint.set_defaults(func=_checkpoint)

    verify = actions.add_parser(
        "verify", help="recompute the Merkle trees from the store and name any tampered event")
    verify.add_argument("--log", choices=LOGS, action="append",
                        help="only this log (default: both)")
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.add_argument("--quiet", action="store_true", help="no progress on stderr")
    verify.set_defaults(func=_verify)

    export = actions.add_parser(
        "export", help="write an evidence bundle of the events in a time range")
    export.add_argument("--since", required=True, help="ISO 8601 time (a bare date: 00:00 UTC)")
    export.add_argument("--until", default="now")
    export.add_argument("--out", required=True, help="a new (or empty) directory")
    export.add_argument("--log", choices=LOGS, default="events")
    export.add_argument("--earlier-checkpoint", metavar="FILE",
                        help="a checkpoint you kept: the bundle will prove the log only grew")
    export.set_defaults(func=_export)

    check = actions.add_parser(
        "verify-bundle", help="check an evidence bundle offline (no store, no network)")
    check.add_argument("bundle", help="the bundle directory")
    check.add_argument("--key", help="the verifier key you trust (the text, or a file)")
    check.add_argument("--earlier-checkpoint", metavar="FILE",
                       help="a checkpoint you kept: prove the log only grew since")
    check.add_argument("--json", action="store_true")
    check.set_defaults(func=_verify_bundle)

    key = actions.add_parser("key", help="print the checkpoints' verifier key (keep a copy)")
    key.set_defaults(func=_key)


LOGS = ("events", "audit")


def _times(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--at", default=None,
                        help="ISO 8601 time (default now); a bare date means 00:00 UTC")
    parser.add_argument("--from", dest="since", default=None,
                        help="with --to: list the changes between two times instead")
    parser.add_argument("--to", dest="until", default=None)
    parser.add_argument("--json", action="store_true", help="print JSON")


@contextlib.contextmanager
def opened_tools(settings: Settings, *, fold: bool = True) -> Iterator[AuditTools]:
    location = store_location(settings)
    with opened_event_log(settings) as events:
        with explaining_open_errors(location, "the audit trail", AUDIT_LOG):
            audit = open_log(location, AuditTrail, AUDIT_LOG)
        try:
            signer = load_or_create_signer(settings.keys_dir, settings.issuer)
            tools = audit_tools(location, events, audit,
                                every=int(settings["audit.fold_checkpoint_interval"]),
                                signer=signer, issuer=settings.issuer,
                                fold_key=fold_checkpoint_key(settings.keys_dir))
            if fold:
                tools.checkpoints.catch_up()
            yield tools
        finally:
            audit.close()


def _window(args: argparse.Namespace) -> tuple[Any, Any] | None:
    if args.since is None and args.until is None:
        return None
    if args.at is not None:
        raise InvalidInputError("give either --at or --from/--to, not both")
    if args.since is None:
        raise InvalidInputError("--to needs --from")
    since = time_travel.parse_time(args.since, "--from")
    until = time_travel.parse_time(args.until or "now", "--to")
    time_travel.check_range(since, until, ("--from", "--to"))
    return since, until


def _permissions(args: argparse.Namespace, settings: Settings) -> int:
    window = _window(args)
    when = time_travel.parse_time(args.at or "now", "--at")
    with opened_tools(settings) as tools:
        if window:
            answer = time_travel.permissions_diff(tools.checkpoints, tools.read_events,
                                                  args.username, *window)
        else:
            answer = time_travel.permissions_at(tools.checkpoints, args.username, when)
    if args.json:
        print(json.dumps(answer, indent=2))
    elif window:
        print(_diff_text(f"Changes to what {args.username} could do", answer, "namespace"))
    else:
        print(_permissions_text(answer))
    return 0


def _access(args: argparse.Namespace, settings: Settings) -> int:
    window = _window(args)
    when = time_travel.parse_time(args.at or "now", "--at")
    repository = args.repository is not None
    name = args.repository if repository else args.namespace
    with opened_tools(settings) as tools:
        if window:
            answer = time_travel.access_diff(tools.checkpoints, tools.read_events, name,
                                             *window, repository=repository)
        else:
            answer = time_travel.access_at(tools.checkpoints, name, when, repository=repository)
    if args.json:
        print(json.dumps(answer, indent=2))
    elif window:
        what = "repository" if repository else "namespace"
        print(_diff_text(f"Changes to who could act on {what} {name}", answer, "who"))
    else:
        print(_access_text(answer))
    return 0


def _explain(args: argparse.Namespace, settings: Settings) -> int:
    with opened_tools(settings) as tools:
        answer = time_travel.explain_token(tools.checkpoints, tools.tokens, args.jti)
    if args.json:
        print(json.dumps(answer, indent=2))
        return 0
    record = answer["record"]
    print(f"Token {args.jti}: {record['type']} at {record.get('timestamp')}"
          f" (audit trail position {answer['audit_position']})")
    for key, value in sorted(record.items()):
        if key not in ("type", "originator_id", "originator_version", "timestamp"):
            print(f"  {key}: {json.dumps(value)}")
    print(f"Recomputed from the log as it was then (position {answer['log_position_then']}):")
    for item in answer["recomputed"]:
        if "actions" not in item:
            print(f"  {item['repository']}: {item['note']}")
            continue
        print(f"  {item['repository']}: {_actions_text(item['actions'])}"
              f"   [{_grant_text(item['grant'])}]")
    return 0


def _checkpoint(args: argparse.Namespace, settings: Settings) -> int:
    if args.out and len(args.log or LOGS) != 1:
        raise InvalidInputError("--out needs exactly one --log", field="--out")
    out = []
    with opened_tools(settings) as tools:
        for name in args.log or LOGS:
            cp = tools.tlog(name).make_checkpoint(tools.signer)
            out.append({"log": name, "size": cp.size, "root": cp.root.hex(), "note": cp.note})
    if args.out:
        try:
            Path(args.out).write_text(str(out[0]["note"]))
        except OSError as e:
            raise InvalidInputError(f"cannot write {args.out}: {e.strerror}",
                                    field="--out") from None
        print(f"Wrote the checkpoint of {out[0]['log']} ({out[0]['size']} events) to {args.out}")
    elif args.json:
        print(json.dumps(out, indent=2))
    else:
        for item in out:
            print(f"# {item['log']}: {item['size']} events\n{item['note']}")
    return 0


def _verify(args: argparse.Namespace, settings: Settings) -> int:
    shown: list[str] = []

    def progress(log: str, count: int) -> None:
        if not args.quiet:
            if shown and shown[-1] != log:
                print(file=sys.stderr)  # the next log starts on its own line
            shown.append(log)
            print(f"\r{log}: {count:,} events read", end="", file=sys.stderr, flush=True)

    def tell(holder: tuple[str, datetime]) -> None:
        print(f"A verification is already running, started at"
              f" {holder[1].strftime('%Y-%m-%d %H:%M:%S')} UTC by {holder[0]};"
              " waiting for it to finish...", file=sys.stderr, flush=True)

    with opened_tools(settings, fold=False) as tools:
        verifier = tools.signer.verifier
        # One verification at a time over the store, whichever process or node runs it
        # (web.log_verification): wait for the one under way, then verify afresh.
        run_id = str(uuid4())
        held = hold_waiting(verification_lock(tools.side.location),
                            note_of(CLI_ACTOR, datetime.now(UTC), run_id), tell)
        # The outcome is recorded in the audit trail (domain.verifications): the console shows
        # auditors when the logs were last proven intact.
        reports, _ = verify_holding(held, run_id, tools, actor=CLI_ACTOR,
                                    logs=args.log or LOGS, progress=progress)
        if not args.quiet:
            print(file=sys.stderr)
    ok = all(r.ok for r in reports)
    if args.json:
        print(json.dumps({"ok": ok, "verifier_key": verifier.encode(),
                          "logs": [r.as_json() for r in reports]}, indent=2))
        return 0 if ok else 1
    for r in reports:
        anchor = (f"signed checkpoint of size {r.checkpoint_size}" if r.checkpoint_size
                  is not None else "no signed checkpoint")
        print(f"{r.log}: {r.events} events, {r.sealed} sealed, {anchor},"
              f" {r.unsealed} not yet sealed: {'OK' if r.ok else 'FAILED'}")
        for p in r.problems:
            print(f"  {p.kind.upper()}: {p.detail}")
    if ok:
        print("The logs are intact.")
    elif any(r.tampered for r in reports):
        print("TAMPERING DETECTED: the problems above name each event.")
    else:
        print("NOT PROVEN: no signed checkpoint yet; run `wharfinger audit checkpoint`.")
    return 0 if ok else 1


def _read_note(path: str | None) -> str | None:
    if path is None:
        return None
    try:
        return Path(path).read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidInputError(f"cannot read the checkpoint {path}: {e}",
                                field="--earlier-checkpoint") from None


def _export(args: argparse.Namespace, settings: Settings) -> int:
    since = time_travel.parse_time(args.since, "--since")
    until = time_travel.parse_time(args.until, "--until")
    time_travel.check_range(since, until, ("--since", "--until"))
    earlier = _read_note(args.earlier_checkpoint)
    with opened_tools(settings, fold=False) as tools:
        tlog = tools.tlog(args.log)
        cp = tlog.make_checkpoint(tools.signer)
        try:
            summary = export_bundle(tlog, cp.note, tools.signer, since, until,
                                    Path(args.out), earlier)
        except (BundleError, NoteError) as e:
            raise InvalidInputError(str(e)) from None
    print(f"Wrote {summary.path}: {summary.in_range} event(s) from {since.isoformat()} to"
          f" {until.isoformat()} (plus {summary.events - summary.in_range} bounding events),"
          f" under the signed checkpoint of {summary.tree_size} events.\n"
          f"Check it with: wharfinger audit verify-bundle {summary.path}"
          " --key <the verifier key you kept>")
    return 0


def _verify_bundle(args: argparse.Namespace, settings: Settings) -> int:
    report = verify_bundle(Path(args.bundle), args.key, _read_note(args.earlier_checkpoint))
    if args.json:
        print(json.dumps({"ok": report.ok, "checks": report.checks, "failure": report.failure},
                         indent=2))
        return 0 if report.ok else 1
    for check in report.checks:
        print(f"ok: {check}")
    if report.ok:
        m = report.manifest
        print(f"VALID: {m.get('events_in_range')} event(s) of {m.get('log')} from"
              f" {m.get('since')} to {m.get('until')}")
        return 0
    print(f"INVALID: {report.failure}")
    return 1


def _key(args: argparse.Namespace, settings: Settings) -> int:
    print(load_or_create_signer(settings.keys_dir, settings.issuer).verifier.encode())
    return 0


# -- text output ----------------------------------------------------------------------------------

def _actions_text(actions: dict[str, dict[str, Any]]) -> str:
    return "  ".join(f"{a}: {v['reason'] if v['allowed'] else 'no (' + v['reason'] + ')'}"
                     for a, v in actions.items())


def _grant_text(grant: dict[str, Any]) -> str:
    parts = []
    if grant.get("admin"):
        parts.append("admin")
    if grant.get("role"):
        parts.append(f"team {grant['team']} as {grant['role']}")
    parts.append(f"{grant['visibility']} {grant['namespace_kind']} namespace")
    return ", ".join(parts)


def _permissions_text(answer: dict[str, Any]) -> str:
    lines = [f"{answer['user']} at {answer['at']} (log position {answer['log_position']})"
             + (", admin" if answer["admin"] else "")
             + ("" if answer["enabled"] else ", DISABLED")]
    if answer["note"]:
        lines.append(f"  note: {answer['note']}")
    if not answer["namespaces"]:
        lines.append("  no access to any namespace")
    for entry in answer["namespaces"]:
        lines.append(f"  {entry['namespace']}: {_actions_text(entry['actions'])}"
                     f"   [{_grant_text(entry['grant'])}]")
    return "\n".join(lines)


def _access_text(answer: dict[str, Any]) -> str:
    what = f"repository {answer['repository']} (namespace {answer['namespace']})" \
        if "repository" in answer else f"namespace {answer['namespace']}"
    lines = [f"Who could act on {what} at {answer['at']} (log position"
             f" {answer['log_position']}); team {answer['team']}, {answer['visibility']}"]
    for action, entries in answer["access"].items():
        who = ", ".join(f"{e['who']} ({e['reason']})" for e in entries) or "nobody"
        lines.append(f"  {action}: {who}")
    return "\n".join(lines)


def _diff_text(title: str, answer: dict[str, Any], key: str) -> str:
    lines = [f"{title} from {answer['from']} to {answer['to']}:"]
    if not answer["changes"]:
        lines.append("  no changes")
    for change in answer["changes"]:
        sign = {"granted": "+", "revoked": "-"}.get(change["change"], "~")
        detail = change["after"] if change["after"] else f"was: {change['before']}"
        lines.append(f"  {sign} {change['action']} {change[key]}: {change['change']}"
                     f" ({detail})")
        for ref in change["caused_by"]:
            lines.append(f"      by event #{ref['position']} {ref['type']} ({ref['id']}"
                         f" v{ref['version']}) by {ref['actor']} at {ref['time']}")
    return "\n".join(lines)
