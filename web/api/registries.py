"""`/api/v1/registries`: register the one registry (admins only)."""

from __future__ import annotations

from aiohttp import web

from domain.registries import Registry
from web.api.requests import api_admin, bool_field, json_object, text_field
from web.appkeys import SERVICES

routes = web.RouteTableDef()


def registry_json(registry: Registry) -> dict[str, object]:
    return {"id": str(registry.id), "name": registry.name, "hostname": registry.hostname,
            "external_hostname": registry.external_hostname, "use_ssl": registry.use_ssl,
            "created_at": registry.created_on.isoformat(),
            "updated_at": registry.modified_on.isoformat()}


@routes.post("/api/v1/registries")
async def create_registry(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    admin = api_admin(request)
    body = await json_object(request, "registry")
    name = text_field(body, "name", max_length=255)
    hostname = text_field(body, "hostname", max_length=255)
    external = text_field(body, "external_hostname", required=False, max_length=255)
    use_ssl = bool_field(body, "use_ssl")
    registry = await services.execute(lambda: services.store.register_registry(
        name=name, hostname=hostname, external_hostname=external, use_ssl=use_ssl),
        actor=admin.username)
    return web.json_response(registry_json(registry), status=201)


@routes.get("/api/v1/registries")
async def list_registries(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    api_admin(request)
    registry = await services.pool.run(services.store.get_registry)
    return web.json_response([registry_json(registry)] if registry else [])
