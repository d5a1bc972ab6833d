"""`/api/v1/audit/…`: time travel and tamper evidence over the logs (admins and auditors).

Admins and auditors (domain.auditors: they read every record and change nothing) may ask.
Who could do what at a past time, what changed between two times and which events changed it,
and why a token was issued (computed from fold checkpoints); the latest signed checkpoint of a
log, inclusion proofs of events and consistency proofs between tree sizes (RFC 9162).
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from aiohttp import web

from domain.errors import ForbiddenError, InvalidInputError, NotFoundError
from eventstore.merkle import ProofError
from eventstore.tlog import SignedCheckpoint
from projections import time_travel
from projections.permissions import UserRecord
from web.api.requests import api_admin, api_user
from web.appkeys import SERVICES
from web.audit_tools import AuditTools

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
                                     tools.tokens, request.match_info["jti"])
    return web.json_response(answer)


# -- tamper evidence ------------------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _int(request: web.Request, name: str, *, required: bool = True) -> int | None:
    text = request.query.get(name)
    if text is None:
        if required:
            raise InvalidInputError("is missing", field=name)
        return None
    if not text.isdigit() or len(text) > 18:
        raise InvalidInputError("must be a non-negative integer", field=name)
    return int(text)


def checkpoint_json(tools: AuditTools, log: str, cp: SignedCheckpoint) -> dict[str, Any]:
    return {"log": log, "origin": tools.tlog(log).origin, "size": cp.size, "root": _b64(cp.root),
            "note": cp.note, "created": cp.created, "verifier_key": tools.signer.verifier.encode()}


@routes.get("/api/v1/audit/checkpoint")
async def latest_checkpoint(request: web.Request) -> web.Response:
    """The latest signed checkpoint (C2SP tlog-checkpoint in `note`)."""
    services = request.app[SERVICES]
    api_auditor(request)
    tools = services.audit_tools
    log = request.query.get("log", "events")
    cp = await services.pool.run(tools.tlog(log).latest_checkpoint)
    if cp is None:
        raise NotFoundError("no checkpoint has been signed yet; POST to make one", field="log")
    return web.json_response(checkpoint_json(tools, log, cp))


@routes.post("/api/v1/audit/checkpoint")
async def make_checkpoint(request: web.Request) -> web.Response:
    """Seal the log now and sign a checkpoint if it grew."""
    services = request.app[SERVICES]
    api_admin(request)
    tools = services.audit_tools
    log = request.query.get("log", "events")
    tlog = tools.tlog(log)
    cp = await services.pool.run(tlog.make_checkpoint, tools.signer)
    return web.json_response(checkpoint_json(tools, log, cp), status=201)


@routes.get("/api/v1/audit/proofs/inclusion")
async def inclusion(request: web.Request) -> web.Response:
    """The audit path of the event at log `position` in the tree of `size` (default: the
    latest checkpoint's)."""
    services = request.app[SERVICES]
    api_auditor(request)
    tools = services.audit_tools
    tlog = tools.tlog(request.query.get("log", "events"))
    position = _int(request, "position")
    size = _int(request, "size", required=False)
    assert position is not None

    def prove() -> dict[str, Any]:
        tree_size = size
        if tree_size is None:
            latest = tlog.latest_checkpoint()
            if latest is None:
                raise NotFoundError("no checkpoint has been signed yet", field="size")
            tree_size = latest.size
        try:
            leaf = tlog.leaf_at_position(position)
            proof = tlog.inclusion(leaf.index, tree_size)
        except ProofError as e:
            raise InvalidInputError(str(e), field="position") from None
        return {"log": tlog.log, "position": position, "leaf_index": leaf.index,
                "tree_size": tree_size, "leaf_hash": _b64(leaf.hash),
                "proof": [_b64(h) for h in proof]}

    return web.json_response(await services.pool.run(prove))


@routes.get("/api/v1/audit/proofs/consistency")
async def consistency(request: web.Request) -> web.Response:
    """Proof that the tree of size `from` is a prefix of the tree of size `to`."""
    services = request.app[SERVICES]
    api_auditor(request)
    tlog = services.audit_tools.tlog(request.query.get("log", "events"))
    first, second = _int(request, "from"), _int(request, "to")
    assert first is not None and second is not None
    if first > second:
        raise InvalidInputError(f"must not be larger than to ({second})", field="from")

    def prove() -> list[bytes]:
        try:
            return tlog.consistency(first, second)
        except ProofError as e:
            raise InvalidInputError(str(e), field="to") from None

    proof = await services.pool.run(prove)
    return web.json_response({"log": tlog.log, "from": first, "to": second,
                              "proof": [_b64(h) for h in proof]})


@routes.get("/api/v1/audit/key")
async def verifier_key(request: web.Request) -> web.Response:
    """The verifier key of the checkpoints (public; an auditor keeps a copy)."""
    services = request.app[SERVICES]
    return web.json_response({"verifier_key": services.audit_tools.signer.verifier.encode()})
