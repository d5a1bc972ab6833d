"""`/api/v1/registries`: the one registry (admins only; portus.md F17, §1.12)."""

from __future__ import annotations

import re

from aiohttp import web

from domain.errors import InvalidInputError, NotFoundError
from projections.directory import Kind
from web import field_limits as limit
from web.api.present import registry_json
from web.api.principal import current_admin
from web.api.requests import bool_field, json_object, optional_text, text_field
from web.appkeys import SERVICES
from web.registry_client import reachability, target_of
from web.registry_update import change_registry

routes = web.RouteTableDef()
HOST_PORT = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])"
                       r"(?::[0-9]{1,5})?")
"""What `validate` probes: a host name, IPv4 or [IPv6] address, and an optional port."""
_FIELDS = {"name", "hostname", "external_hostname", "use_ssl"}


def _known_fields(body: dict[str, object]) -> None:
    for name in body:
        if name not in _FIELDS:
            raise InvalidInputError("is not a known field", field=name)


@routes.post("/api/v1/registries")
async def create_registry(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    admin = current_admin(request)
    body = await json_object(request, "registry")
    _known_fields(body)
    name = text_field(body, "name", max_length=limit.REGISTRY_NAME)
    hostname = text_field(body, "hostname", max_length=limit.REGISTRY_HOSTNAME)
    external = text_field(body, "external_hostname", required=False,
                          max_length=limit.REGISTRY_HOSTNAME)
    use_ssl = bool_field(body, "use_ssl")
    await services.execute(lambda: services.store.register_registry(
        name=name, hostname=hostname, external_hostname=external, use_ssl=use_ssl),
        actor=admin.username)
    return web.json_response(registry_json(services), status=201)


@routes.get("/api/v1/registries")
async def list_registries(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    current_admin(request)
    registry = registry_json(services)
    return web.json_response([registry] if registry else [])


@routes.get("/api/v1/registries/validate")
async def validate_registry(request: web.Request) -> web.Response:
    """`{valid, messages}` for a would-be registry, as Portus's `Registries::ValidateService`:
    the fields' errors, and under `hostname` why `GET /v2/` at that address does not answer like
    a Distribution registry (Portus's messages, e.g. "Errno::ECONNREFUSED: connection
    refused"). Creating the registry does not probe: it may legitimately start after us."""
    services = request.app[SERVICES]
    current_admin(request)
    query = request.query
    messages: dict[str, list[str]] = {}
    only = set(query.getall("only[]", [])) | set(query.getall("only", []))
    if not query.get("name", "").strip():
        messages["name"] = ["can't be blank"]
    hostname = query.get("hostname", "").strip()
    if not hostname or any(c.isspace() for c in hostname) or len(hostname) > 255:
        messages["hostname"] = ["is invalid"]
    if query.get("use_ssl", "false").lower() not in ("true", "false"):
        messages["use_ssl"] = ["is invalid"]
    if services.index.registry is not None and not only:
        messages.setdefault("registry", []).append("You can only create one registry")
    if only:
        messages = {k: v for k, v in messages.items() if k in only}
    if "hostname" not in messages and not HOST_PORT.fullmatch(hostname):
        messages["hostname"] = ["is invalid"]
    if "hostname" not in messages and (not only or "hostname" in only):
        use_ssl = query.get("use_ssl", "false").lower() == "true"
        unreachable = await reachability(target_of(hostname, use_ssl), services.settings)
        if unreachable:
            messages["hostname"] = [unreachable]
    return web.json_response({"valid": not messages, "messages": messages})


@routes.put("/api/v1/registries/{id}")
async def update_registry(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    admin = current_admin(request)
    raw = request.match_info["id"]
    entries = services.directory.entries(Kind.REGISTRY)
    if not entries or raw != str(entries[0].id):
        raise NotFoundError("Not found")
    body = await json_object(request, "registry")
    _known_fields(body)
    name = optional_text(body, "name", max_length=limit.REGISTRY_NAME)
    hostname = optional_text(body, "hostname", max_length=limit.REGISTRY_HOSTNAME)
    external = optional_text(body, "external_hostname", max_length=limit.REGISTRY_HOSTNAME)
    use_ssl = bool_field(body, "use_ssl") if body.get("use_ssl") is not None else None
    try:
        await change_registry(services, admin, name=name, hostname=hostname,
                              external_hostname=external, use_ssl=use_ssl)
    except NotFoundError:
        raise NotFoundError("Not found") from None
    return web.json_response(registry_json(services))
