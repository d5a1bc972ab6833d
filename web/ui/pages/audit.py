"""The auditor's views: permissions of a user or access to a namespace as of a time, the
difference between two times (with the events that caused it), and a token explained by `jti`.

Admins and auditors only, exactly as `/api/v1/audit/…`; the answers come from the same
time-travel functions (projections.time_travel), computed in the blocking pool.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from domain.errors import DomainError, ForbiddenError
from projections import time_travel
from projections.permissions import UserRecord
from web.appkeys import SERVICES
from web.ui.access import signed_in
from web.ui.forms import Form
from web.ui.rendering import render

routes = web.RouteTableDef()

FIELDS = ("question", "username", "namespace", "at", "from", "to", "jti")


def auditor(request: web.Request) -> UserRecord:
    user = signed_in(request)
    if not (user.admin or user.auditor):
        raise ForbiddenError("This page is for administrators and auditors.")
    return user


@routes.get("/audit")
async def audit_page(request: web.Request) -> web.Response:
    auditor(request)
    services = request.app[SERVICES]
    tools = services.audit_tools
    form = Form(values={k: request.query.get(k, "")[:255].strip() for k in FIELDS})
    v = form.values
    answer: dict[str, Any] | None = None
    try:
        if v["question"] == "permissions":
            when = time_travel.parse_time(v["at"] or "now", "at")
            answer = await services.pool.run(time_travel.permissions_at, tools.checkpoints,
                                             v["username"], when)
        elif v["question"] == "permissions_diff":
            since = time_travel.parse_time(v["from"], "from")
            until = time_travel.parse_time(v["to"] or "now", "to")
            answer = await services.pool.run(time_travel.permissions_diff, tools.checkpoints,
                                             tools.read_events, v["username"], since, until)
        elif v["question"] == "access":
            when = time_travel.parse_time(v["at"] or "now", "at")
            name = v["namespace"]
            answer = await services.pool.run(
                lambda: time_travel.access_at(tools.checkpoints, name, when))
        elif v["question"] == "token":
            answer = await services.pool.run(time_travel.explain_token, tools.checkpoints,
                                             tools.read_audit, v["jti"])
    except DomainError as e:
        form.fail(e, default_field="question")
    return render(request, "audit.html", status=422 if form.errors else 200, form=form,
                  answer=answer)
