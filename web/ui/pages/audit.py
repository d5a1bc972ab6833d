"""The auditor's views: permissions of a user or access to a namespace or a repository as of a
time, the difference between two times for a user, a namespace or a repository (with the events
that caused it), a token explained by `jti`, and the tamper evidence: each log's latest signed
checkpoint and the last verification's outcome (recorded by `wharfinger audit verify` or the
page's "Verify now", web.log_verification).

Admins and auditors only, exactly as `/api/v1/audit/…`; the answers come from the same
time-travel functions (projections.time_travel), computed in the blocking pool.
"""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from domain.errors import DomainError, ForbiddenError, InvalidInputError
from domain.registries import GLOBAL_NAMESPACE_NAME
from projections import time_travel
from projections.activity.store import Query
from projections.activity.visibility import EVERYTHING
from projections.permissions import UserRecord
from web.appkeys import SERVICES, VERIFICATION_GATE
from web.log_verification import LOGS
from web.ui.access import admin, namespace_as_stored, signed_in
from web.ui.forms import Form, see_other
from web.ui.rendering import render

routes = web.RouteTableDef()

FIELDS = ("question", "username", "namespace", "repository", "at", "from", "to", "jti")


def auditor(request: web.Request) -> UserRecord:
    user = signed_in(request)
    if not (user.admin or user.auditor):
        raise ForbiddenError("This page is for administrators and auditors.")
    return user


def _target(namespace: str, repository: str) -> tuple[str, bool]:
    """A namespace or a repository (`team/app`, or `app` in the global namespace), as the API's
    `namespace=` or `repository=`: exactly one of them."""
    if bool(namespace) == bool(repository):
        raise InvalidInputError("Give either a namespace or a repository (exactly one).",
                                field="namespace")
    return (repository, True) if repository else (namespace, False)


@routes.get("/audit")
async def audit_page(request: web.Request) -> web.Response:
    auditor(request)
    services = request.app[SERVICES]
    tools = services.audit_tools
    form = Form(values={k: request.query.get(k, "")[:255].strip() for k in FIELDS})
    v = form.values
    # A blank namespace stays blank (a registry without an external hostname has "" there).
    asked_namespace = v["namespace"] and namespace_as_stored(services.index, v["namespace"])
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
            name, repository = _target(asked_namespace, v["repository"])
            when = time_travel.parse_time(v["at"] or "now", "at")
            answer = await services.pool.run(lambda: time_travel.access_at(
                tools.checkpoints, name, when, repository=repository))
        elif v["question"] == "access_diff":
            name, repository = _target(asked_namespace, v["repository"])
            since = time_travel.parse_time(v["from"], "from")
            until = time_travel.parse_time(v["to"] or "now", "to")
            answer = await services.pool.run(lambda: time_travel.access_diff(
                tools.checkpoints, tools.read_events, name, since, until,
                repository=repository))
        elif v["question"] == "token":
            answer = await services.pool.run(time_travel.explain_token, tools.checkpoints,
                                             tools.tokens, v["jti"])
    except DomainError as e:
        form.fail(e, default_field="question")
    return await _page(request, form, answer)


@routes.post("/audit/verify")
async def verify_now(request: web.Request) -> web.Response:
    """Run `audit verify` over both logs in the pool and show its outcome (recorded as a fact,
    so the next visitor sees it too). Reads only: auditors may run it."""
    user = auditor(request)
    services = request.app[SERVICES]
    gate = request.app[VERIFICATION_GATE]
    run, started = gate.start_or_join(user.username)
    if started:
        gate.carry_out(run, services.pool, services.audit_tools)
    # This server's run (or one of another process or node it waits for): its outcome, waited
    # for without taking a pool thread.
    fact = await asyncio.wrap_future(run.outcome)
    just_now = {"occurred_at": fact.timestamp, "actor": fact.actor, "ok": fact.ok,
                "tampered": fact.tampered, "logs": fact.logs}
    joined = None
    if run.elsewhere is not None:
        joined = {"actor": run.elsewhere[0], "started_at": run.elsewhere[1]}
    elif not started:
        joined = {"actor": run.actor, "started_at": run.started_at}
    return await _page(request, Form(values={k: "" for k in FIELDS}), None, just_now, joined)


@routes.post("/audit/checkpoint")
async def sign_checkpoints(request: web.Request) -> web.StreamResponse:
    """Seal and sign a checkpoint of each log now: admins only, as `POST
    /api/v1/audit/checkpoint` (auditors read; signing writes to the logs' side tables)."""
    services = request.app[SERVICES]
    admin(request)
    await services.pool.run(services.audit_tools.make_checkpoints)
    raise see_other("/audit#tamper-evidence")


async def _page(request: web.Request, form: Form, answer: dict[str, Any] | None,
                verification: dict[str, Any] | None = None,
                joined: dict[str, Any] | None = None) -> web.Response:
    services = request.app[SERVICES]
    tools = services.audit_tools
    checkpoints = []
    for log in LOGS:
        cp = await services.pool.run(tools.tlog(log).latest_checkpoint)
        checkpoints.append({"log": log, "checkpoint": cp and {
            "size": cp.size, "root": base64.b64encode(cp.root).decode(), "note": cp.note,
            "created": datetime.fromtimestamp(cp.created, UTC)}})
    if verification is None:
        verification = await _last_verification(request)
    return render(request, "audit.html", status=422 if form.errors else 200, form=form,
                  answer=answer, checkpoints=checkpoints, verification=verification,
                  joined=joined,
                  global_namespace=GLOBAL_NAMESPACE_NAME,
                  verifier_key=tools.signer.verifier.encode())


async def _last_verification(request: web.Request) -> dict[str, Any] | None:
    """The latest `audit.verify` entry of the activity feed (every entry: only admins and
    auditors reach this page). The feed follows the audit trail, a moment behind."""
    services = request.app[SERVICES]
    found = await services.pool.run(services.activity.page,
                                    Query(types=("audit.verify",), limit=1), EVERYTHING)
    if not found:
        return None
    entry = found[0]
    return {"occurred_at": entry.occurred_at, "actor": entry.actor, **entry.parameters}
