"""Activity entries as JSON (the API), JSON Lines (a stable, versioned schema), Portus's CSV
columns, and OCSF events (class ids as in peers.md (d): Account Change 3001, Authentication 3002,
Authorize Session 3003, User Access Management 3005, Group Management 3006, API Activity 6003;
type_uid = class_uid·100 + activity_id)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from projections.activity.entries import Entry

SCHEMA = "wharfinger.activity"
SCHEMA_VERSION = 1
"""Bump on any change that is not adding a field; readers check it."""

CSV_COLUMNS = ("Tracked item", "Item", "Event", "Recipient", "Triggered by", "Time", "Notes")
"""Portus's admin CSV export (portus.md §1.13, last line)."""

OCSF_VERSION = "1.1.0"


def entry_id(entry: Entry) -> str:
    return f"{entry.log}:{entry.position}"


def as_json(entry: Entry) -> dict[str, Any]:
    return {
        "schema": SCHEMA, "schema_version": SCHEMA_VERSION, "id": entry_id(entry),
        "log": entry.log, "position": entry.position,
        "time": entry.occurred_at.isoformat().replace("+00:00", "Z"),
        "type": entry.type, "trackable": entry.trackable, "actor": entry.actor,
        "sentence": entry.sentence, "item": entry.item, "recipient": entry.recipient,
        "owner_id": entry.owner_id or None, "team_id": entry.team_id or None,
        "team": entry.team_name or None, "namespace_id": entry.namespace_id or None,
        "namespace": entry.namespace_name or None, "repository": entry.repository or None,
        "parameters": entry.parameters,
    }


def json_lines(entries: Iterable[Entry]) -> Iterable[str]:
    for entry in entries:
        yield json.dumps(as_json(entry), sort_keys=True, default=str) + "\n"


def csv_header() -> str:
    return _csv_line(CSV_COLUMNS)


def csv_rows(entries: Iterable[Entry]) -> Iterable[str]:
    for e in entries:
        yield _csv_line((e.trackable.replace("_", " ").capitalize(), e.item, e.type,
                         e.recipient, e.actor, as_json(e)["time"], e.sentence))


def _csv_line(values: Iterable[str]) -> str:
    buffer = io.StringIO()
    # Formula injection: a cell an attacker names ("=cmd|…") must not run in a spreadsheet.
    csv.writer(buffer, lineterminator="\r\n").writerow(
        "'" + v if v[:1] in ("=", "+", "-", "@", "\t", "\r") else v for v in values)
    return buffer.getvalue()


# type -> (class_uid, activity_id); API Activity 6003 for everything else.
_OCSF: dict[str, tuple[int, int]] = {
    "user.create": (3001, 1), "user.enabled": (3001, 2), "user.change_password": (3001, 3),
    "user.disabled": (3001, 5), "user.delete": (3001, 6), "user.lockout": (3001, 7),
    "user.login": (3002, 1), "user.login_failed": (3002, 1),
    "token.issue": (3003, 1),
    "user.admin_granted": (3005, 1), "user.admin_revoked": (3005, 2),
    "user.auditor_granted": (3005, 1), "user.auditor_revoked": (3005, 2),
    "team.change_member_role": (3005, 1),
    "team.add_member": (3006, 3), "team.remove_member": (3006, 4),
    "registry.remove_team": (3006, 5), "team.create": (3006, 6),
}
_CLASS_NAMES = {3001: "Account Change", 3002: "Authentication", 3003: "Authorize Session",
                3005: "User Access Management", 3006: "Group Management",
                6003: "API Activity"}


def _api_activity(kind: str) -> int:
    verb = kind.rsplit(".", 1)[-1]
    if verb.startswith("create") or verb == "push":
        return 1
    if verb in ("pull", "read"):
        return 2
    if verb.startswith(("delete", "destroy", "remove")):
        return 4
    if verb.startswith(("change", "update")) or "." in kind:
        return 3
    return 99


def as_ocsf(entry: Entry) -> dict[str, Any]:
    class_uid, activity_id = _OCSF.get(entry.type, (6003, _api_activity(entry.type)))
    event: dict[str, Any] = {
        "class_uid": class_uid, "class_name": _CLASS_NAMES[class_uid],
        "category_uid": class_uid // 1000, "activity_id": activity_id,
        "type_uid": class_uid * 100 + activity_id, "severity_id": 1,
        "time": entry.occurred_us // 1000, "message": entry.sentence,
        "actor": {"user": {"name": entry.actor}},
        "metadata": {"version": OCSF_VERSION, "uid": entry_id(entry),
                     "product": {"name": "Wharfinger", "vendor_name": "Wharfinger"},
                     "log_name": entry.log, "sequence": entry.position,
                     "event_code": entry.type},
        "unmapped": entry.parameters,
    }
    params = entry.parameters
    if entry.type in ("user.login_failed", "token.issue"):
        event["status_id"] = 1 if params.get("outcome") == "issued" else 2
        event["src_endpoint"] = {"ip": params.get("client_address", "")}
        event["http_request"] = {"user_agent": params.get("user_agent", "")}
    if entry.recipient:
        event["user"] = {"name": entry.recipient, "uid": entry.owner_id or None}
    if entry.team_name:
        event["group"] = {"name": entry.team_name, "uid": entry.team_id or None}
    if entry.namespace_name or entry.repository:
        event["resources"] = [{"type": "namespace" if not entry.repository else "repository",
                               "name": entry.repository or entry.namespace_name}]
    return event
