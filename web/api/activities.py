"""`GET /api/v1/activities`: the activity feed a user may see, filtered, paged by cursor, and
exported as CSV (Portus's columns), JSON Lines or OCSF (`format=`). Admins and auditors see all.

The feed is eventually consistent (a projector follows the logs); the `Wharfinger-Feed-Position`
header says which log positions a page reflects.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime

from aiohttp import web
from multidict import MultiMapping

from domain.actors import ANONYMOUS, SYSTEM
from domain.errors import InvalidInputError, NotFoundError
from projections.activity import exports
from projections.activity.entries import Entry, micros
from projections.activity.store import Query
from projections.activity.visibility import audience_for
from web.api.requests import api_user
from web.appkeys import SERVICES
from web.services import Services

routes = web.RouteTableDef()

MAX_LIMIT = 100
EXPORT_PAGE = 1000
_TYPE = re.compile(r"[a-z_]+(\.[A-Za-z_.]+)?")
_SPECIAL_ACTORS = {SYSTEM, ANONYMOUS, "cli", "registry"}
_MEDIA = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson",
          "ocsf": "application/json"}
_FILENAMES = {"csv": "activities.csv", "jsonl": "activities.jsonl",
              "ocsf": "activities.ocsf.json"}


@routes.get("/api/v1/activities")
async def list_activities(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    user = api_user(request)
    query, output = feed_query(services, request.query)
    visibility = audience_for(services.index, user.id)
    if output == "json":
        rows = await services.pool.run(services.activity.page,
                                       replace(query, limit=query.limit + 1), visibility)
        page, more = rows[:query.limit], len(rows) > query.limit
        cursor = cursor_of(page[-1]) if more and page else None
        headers = {"Wharfinger-Feed-Position": await _positions(services)}
        if cursor:
            headers["Link"] = f'<{request.rel_url.update_query(cursor=cursor)}>; rel="next"'
        return web.json_response({"activities": [exports.as_json(e) for e in page],
                                  "next_cursor": cursor}, headers=headers)
    response = web.StreamResponse(headers={
        "Content-Type": _MEDIA[output],
        "Content-Disposition": f'attachment; filename="{_FILENAMES[output]}"',
        "Wharfinger-Feed-Position": await _positions(services)})
    await response.prepare(request)
    first = True
    if output == "csv":
        await response.write(exports.csv_header().encode())
    elif output == "ocsf":
        await response.write(b"[")
    while True:
        page = await services.pool.run(services.activity.page,
                                       replace(query, limit=EXPORT_PAGE), visibility)
        chunks: Iterable[str]
        if output == "csv":
            chunks = exports.csv_rows(page)
        elif output == "jsonl":
            chunks = exports.json_lines(page)
        else:
            chunks = [("" if first and i == 0 else ",\n") + json.dumps(exports.as_ocsf(e))
                      for i, e in enumerate(page)]
        await response.write("".join(chunks).encode())
        first = first and not page
        if len(page) < EXPORT_PAGE:
            break
        query = replace(query, before=(page[-1].occurred_us, page[-1].log, page[-1].position))
    if output == "ocsf":
        await response.write(b"]\n")
    await response.write_eof()
    return response


async def _positions(services: Services) -> str:
    positions = await services.pool.run(services.activity.positions)
    return " ".join(f"{log}={pos}" for log, pos in sorted(positions.items()))


def feed_query(services: Services, q: MultiMapping[str]) -> tuple[Query, str]:
    """The feed's filters and output format from query parameters (also the console's
    activities page), each refusal naming its parameter."""
    for name in q:
        if len(q.getall(name)) > 1 and name != "type":
            raise InvalidInputError("must be given once", field=name)
    output = q.get("format", "json")
    if output not in ("json", *_MEDIA):
        raise InvalidInputError("must be one of json, csv, jsonl, ocsf", field="format")
    index = services.index
    actor = q.get("actor")
    if actor is not None and actor not in _SPECIAL_ACTORS and index.user_named(actor) is None:
        raise NotFoundError(f"unknown user '{actor[:80]}'", field="actor")
    team_id = None
    if "team" in q:
        team = next((t for t in index.teams.values() if t.name == q["team"]), None)
        if team is None:
            raise NotFoundError(f"unknown team '{q['team'][:80]}'", field="team")
        team_id = str(team.id)
    namespace = q.get("namespace")
    if namespace is not None and index.namespace_named(namespace) is None:
        raise NotFoundError(f"unknown namespace '{namespace[:80]}'", field="namespace")
    repository = q.get("repository")
    if repository is not None and not 0 < len(repository) <= 255:
        raise InvalidInputError("is invalid", field="repository")
    types = tuple(t for value in q.getall("type", []) for t in value.split(",") if t)
    for kind in types:
        if not _TYPE.fullmatch(kind):
            raise InvalidInputError(f"'{kind[:80]}' is not an activity type", field="type")
    since, until = _time(q.get("since"), "since"), _time(q.get("until"), "until")
    if since is not None and until is not None and since >= until:
        raise InvalidInputError("must be earlier than until", field="since")
    limit = _limit(q.get("limit"))
    before = _parse_cursor(q["cursor"]) if "cursor" in q else None
    return Query(actor=actor, team_id=team_id, namespace=namespace, repository=repository,
                 types=types, since_us=since, until_us=until, before=before,
                 limit=limit), output


def _time(raw: str | None, name: str) -> int | None:
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.strip().replace(" ", "+"))
    except ValueError:
        raise InvalidInputError(
            "is not an ISO 8601 time (e.g. 2026-01-31T12:00:00Z)", field=name) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return micros(moment)


def _limit(raw: str | None) -> int:
    if raw is None:
        return 50
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise InvalidInputError(f"must be a number from 1 to {MAX_LIMIT}", field="limit")
    return int(raw)


def cursor_of(entry: Entry) -> str:
    raw = f"{entry.occurred_us}:{entry.log}:{entry.position}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _parse_cursor(cursor: str) -> tuple[int, str, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        us, log, position = raw.split(":")
        return int(us), log, int(position)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInputError("is not a cursor this API returned", field="cursor") from None
