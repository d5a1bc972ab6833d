"""`/api/v1/namespaces`: list, show, create, update, delete, validate (portus.md §1.4, F18-F22).

Listings follow pull rights (Portus §7.12): protected namespaces appear to every signed-in user.
The global namespace is never private and never deleted; personal namespaces go only with their
user.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from domain.errors import DomainError, ForbiddenError, InvalidInputError
from domain.management_policy import (
    may_change_visibility,
    may_create_namespace,
    may_delete_namespace,
    may_move_namespace,
    may_update_namespace,
    may_view_namespace,
)
from domain.names import check_namespace_name
from domain.values import Visibility
from projections.permissions import NamespaceRecord, UserRecord
from web import field_limits as limit
from web.api.pagination import paginated
from web.api.present import (
    find_namespace,
    namespace_json,
    role_in,
    switches,
    team_facts,
    team_named,
)
from web.api.principal import current_user
from web.api.requests import json_object, optional_text, text_field
from web.api.users import no_extra_fields
from web.appkeys import SERVICES
from web.services import Services

routes = web.RouteTableDef()

RepositoryLister = Callable[[Services, NamespaceRecord, UserRecord], list[dict[str, Any]]]
"""Lists a namespace's repositories as API JSON; the registry read model plugs in here."""


def _no_repositories(services: Services, ns: NamespaceRecord,
                     user: UserRecord) -> list[dict[str, Any]]:
    return []


repository_lister: RepositoryLister = _no_repositories


def _visible(services: Services, ns: NamespaceRecord, user: UserRecord) -> bool:
    return may_view_namespace(user.principal(), ns.facts(), role_in(services, user, ns.team_id),
                              services.index.rules)


def _visible_namespace(request: web.Request) -> tuple[Services, UserRecord, NamespaceRecord]:
    """What every `/namespaces/{id}` route starts with: the caller and the namespace, which
    they must be able to see (Portus's `show?`, i.e. pull)."""
    services = request.app[SERVICES]
    user = current_user(request)
    ns = find_namespace(services, request.match_info["id"])
    if not _visible(services, ns, user):
        raise ForbiddenError("Authorization fails")
    return services, user, ns


def _visibility(raw: object) -> Visibility:
    if not isinstance(raw, str) or raw not in Visibility.__members__.values():
        shown = raw if isinstance(raw, str) else type(raw).__name__
        raise InvalidInputError(f"unknown visibility kind '{shown}'", field="visibility")
    return Visibility(raw)


@routes.get("/api/v1/namespaces")
async def list_namespaces(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    user = current_user(request)
    return paginated(request, [namespace_json(services, ns)
                               for ns in services.index.namespaces.values()
                               if _visible(services, ns, user)])


@routes.get("/api/v1/namespaces/validate")
async def validate_namespace(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    current_user(request)
    name = request.query.get("name", "")
    messages: dict[str, list[str]] = {}
    try:
        check_namespace_name(name[:1024])
        if services.index.namespace_named(name) is not None:
            messages["name"] = ["has already been taken"]
    except DomainError as e:
        messages["name"] = [e.message]
    return web.json_response({"valid": not messages, "messages": messages})


@routes.post("/api/v1/namespaces")
async def create_namespace(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    user = current_user(request)
    body = await json_object(request, "namespace")
    no_extra_fields(body, {"name", "team", "description"})
    name = text_field(body, "name", max_length=limit.NAMESPACE_NAME)
    team = team_named(services, text_field(body, "team", max_length=limit.TEAM_NAME))
    description = text_field(body, "description", required=False,
                             max_length=limit.DESCRIPTION)
    check_namespace_name(name)
    may_create_namespace(user.principal(), team_facts(services, team, user), switches(services))
    ns = await services.execute(lambda: services.store.create_namespace(
        name=name, team_id=team.id, description=description), actor=user.username)
    return web.json_response(namespace_json(services, services.index.namespaces[ns.id]),
                             status=201)


@routes.get("/api/v1/namespaces/{id}")
async def show_namespace(request: web.Request) -> web.Response:
    services, _, ns = _visible_namespace(request)
    return web.json_response(namespace_json(services, ns))


@routes.get("/api/v1/namespaces/{id}/repositories")
async def namespace_repositories(request: web.Request) -> web.Response:
    services, user, ns = _visible_namespace(request)
    return paginated(request, repository_lister(services, ns, user))


@routes.put("/api/v1/namespaces/{id}")
async def update_namespace(request: web.Request) -> web.Response:
    services, user, ns = _visible_namespace(request)
    body = await json_object(request, "namespace")
    no_extra_fields(body, {"name", "description", "team", "visibility"})
    name = optional_text(body, "name", max_length=limit.NAMESPACE_NAME)
    description = optional_text(body, "description", max_length=limit.DESCRIPTION)
    team_name = optional_text(body, "team", max_length=limit.TEAM_NAME)
    visibility = _visibility(body["visibility"]) if body.get("visibility") is not None else None
    if name is not None:
        check_namespace_name(name)
    rules = switches(services)
    role = role_in(services, user, ns.team_id)
    principal = user.principal()
    if name is not None or description is not None:
        may_update_namespace(principal, ns.facts(), role, rules)
    destination = None
    if team_name is not None:
        team = team_named(services, team_name)
        if team.id != ns.team_id:
            may_move_namespace(principal, ns.facts(), role, team_facts(services, team, user),
                               rules)
            destination = team.id
    if visibility is not None and visibility is not ns.visibility:
        may_change_visibility(principal, ns.facts(), role, rules)
    await services.execute(lambda: services.store.update_namespace(
        ns.id, name=name, description=description, visibility=visibility,
        team_id=destination), actor=user.username)
    return web.json_response(namespace_json(services, services.index.namespaces[ns.id]))


@routes.delete("/api/v1/namespaces/{id}")
async def delete_namespace(request: web.Request) -> web.Response:
    services, user, ns = _visible_namespace(request)
    may_delete_namespace(user.principal(), ns.facts(), role_in(services, user, ns.team_id),
                         switches(services))
    await services.execute(lambda: services.store.delete_namespace(ns.id), actor=user.username)
    return web.Response(status=204)
