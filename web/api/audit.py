"""`/api/v1/audit/…`: time travel over the log (admins and auditors).

Admins and auditors (domain.auditors: they read every record and change nothing) may ask.
Who could do what at a past time, what changed between two times and which events changed it,
and why a token was issued. Every answer is computed in the blocking pool from fold checkpoints.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from domain.errors import ForbiddenError, InvalidInputError
from projections import time_travel
from projections.permissions import UserRecord
from web.api.requests import api_user
from web.appkeys import SERVICES

routes = web.RouteTableDef()


def api_auditor(request: web.Request) -> UserRecord:
    user = api_user(request)
    if not (user.admin or user.auditor):
        raise ForbiddenError("Authorization fails")
    return user


def _time(request: web.Request, name: str, *, default: str | None = None) -> datetime:
    text = request.query.get(name, default)
    if text is None:
        raise InvalidInputError("is missing (an ISO 8601 time, e.g. 2026-03-01T12:00:00Z)",
                                field=name)
    return time_travel.parse_time(text, name)


def _target(request: web.Request) -> tuple[str, bool]:
    namespace, repository = request.query.get("namespace"), request.query.get("repository")
    if bool(namespace) == bool(repository):
        raise InvalidInputError("give exactly one of namespace= or repository=",
                                field="namespace")
    return (repository, True) if repository else (str(namespace), False)


@routes.get("/api/v1/audit/users/{username}/permissions")
async def user_permissions(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    api_auditor(request)
    username = request.match_info["username"]
    when = _time(request, "at", default="now")
    tools = services.audit_tools
    answer: dict[str, Any] = await services.pool.run(
        time_travel.permissions_at, tools.checkpoints, username, when)
    return web.json_response(answer)


@routes.get("/api/v1/audit/users/{username}/permissions/diff")
async def user_permissions_diff(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    api_auditor(request)
    username = request.match_info["username"]
    since, until = _time(request, "from"), _time(request, "to", default="now")
    tools = services.audit_tools
    answer = await services.pool.run(time_travel.permissions_diff, tools.checkpoints,
                                     tools.read_events, username, since, until)
    return web.json_response(answer)


@routes.get("/api/v1/audit/access")
async def access(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    api_auditor(request)
    name, repository = _target(request)
    when = _time(request, "at", default="now")
    tools = services.audit_tools
    answer = await services.pool.run(
        lambda: time_travel.access_at(tools.checkpoints, name, when, repository=repository))
    return web.json_response(answer)


@routes.get("/api/v1/audit/access/diff")
async def access_diff(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    api_auditor(request)
    name, repository = _target(request)
    since, until = _time(request, "from"), _time(request, "to", default="now")
    tools = services.audit_tools
    answer = await services.pool.run(
        lambda: time_travel.access_diff(tools.checkpoints, tools.read_events, name, since,
                                        until, repository=repository))
    return web.json_response(answer)


@routes.get("/api/v1/audit/tokens/{jti}")
async def explain_token(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    api_auditor(request)
    tools = services.audit_tools
    answer = await services.pool.run(time_travel.explain_token, tools.checkpoints,
                                     tools.read_audit, request.match_info["jti"])
    return web.json_response(answer)
