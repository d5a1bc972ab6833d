"""Service endpoints of the API: `_ping`, `health` and `/api/version` (portus.md §1.12)."""

from __future__ import annotations

from importlib import metadata

from aiohttp import web

from web.api.principal import current_user
from web.appkeys import SERVICES
from web.ldap.sync import directory_health
from web.registry_health import registry_health

routes = web.RouteTableDef()


@routes.get("/api/v1/_ping")
async def ping(request: web.Request) -> web.Response:
    return web.json_response({})


@routes.get("/api/v1/health")
async def health(request: web.Request) -> web.Response:
    """200 when this node follows its event log, 503 (fail closed) when it cannot. The registry
    components say whether the registry is reachable and when the last notification was
    recorded; they do not change the status, so a registry outage does not take every
    Wharfinger node out of a load balancer (tokens and the API still work without it)."""
    services = request.app[SERVICES]
    follower = services.follower
    current = follower.is_current()
    message = "event log is readable" if current else (
        follower.last_error or "event log not read recently")
    body: dict[str, object] = {"database": {"msg": message, "success": current}}
    components, _ = await registry_health(services)
    body.update(components)
    if services.ldap is not None:
        # Reported, but (like the registry) not failing the node: local users and tokens still
        # work without the directory, so a load balancer must not drop every node with it.
        ok, text = await directory_health(services)
        body["ldap"] = {"msg": text, "success": ok}
    return web.json_response(body, status=200 if current else 503)


@routes.get("/api/version")
async def version(request: web.Request) -> web.Response:
    current_user(request)
    try:
        number = metadata.version("wharfinger")
    except metadata.PackageNotFoundError:
        number = "0.0.0"
    return web.json_response({"api-versions": ["v1"], "git": None, "version": number})
