"""Namespaces: list, create, detail, description, visibility, transfer and delete (F19-F22).

Every post runs the same `domain.management_policy` check as the REST API before the command.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from domain.errors import DomainError, NotFoundError
from domain.management_policy import (
    may_change_visibility,
    may_create_namespace,
    may_delete_namespace,
    may_move_namespace,
    may_update_namespace,
)
from domain.values import NamespaceKind, Visibility
from projections.browsing import Descriptions, may_see_namespace, team_named, visible_namespaces
from projections.permissions import NamespaceRecord, UserRecord
from web import field_limits as limit
from web.api.present import role_in, switches, team_facts
from web.appkeys import SERVICES
from web.ui.access import allowed, signed_in
from web.ui.forms import Form, read_form, see_other
from web.ui.rendering import render
from web.ui.sessions import current_user

routes = web.RouteTableDef()


def creatable_teams(request: web.Request, user: UserRecord) -> list[str]:
    """Teams the user may create a namespace in (what the form offers)."""
    services = request.app[SERVICES]
    s = switches(services)
    return sorted(t.name for t in services.index.teams.values()
                  if (user.admin or user.id in t.members)
                  and allowed(may_create_namespace, user.principal(),
                              team_facts(services, t, user), s))


def _namespace(request: web.Request) -> NamespaceRecord:
    """The namespace of the URL, if the visitor may see it; 404 otherwise (never 403: a
    private namespace's existence is not disclosed)."""
    index = request.app[SERVICES].index
    ns = index.namespace_named(request.match_info["name"])
    if ns is None or not may_see_namespace(index, current_user(request), ns):
        raise NotFoundError("There is no such namespace.")
    return ns


@routes.get("/namespaces")
async def namespaces_page(request: web.Request) -> web.Response:
    user = signed_in(request)
    return _list(request, user, Form(values={"name": "", "team": "", "description": ""}))


def _list(request: web.Request, user: UserRecord, form: Form, status: int = 200
          ) -> web.Response:
    services = request.app[SERVICES]
    index = services.index
    descriptions = Descriptions(services.directory)
    rows = [(ns, index.teams.get(ns.team_id), descriptions.get(ns.id))
            for ns in visible_namespaces(index, user)]
    return render(request, "namespaces.html", status=status, rows=rows,
                  teams=creatable_teams(request, user), form=form)


@routes.post("/namespaces")
async def create_namespace(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    user = signed_in(request)
    form = await read_form(request, "name", "team", "description", limits={
        "name": limit.NAMESPACE_NAME, "team": limit.TEAM_NAME, "description": limit.DESCRIPTION})
    name, description = form.values["name"].strip(), form.values["description"].strip()
    team = team_named(services.index, form.values["team"])
    if team is None:
        form.error("team", "unknown team")
    else:
        may_create_namespace(user.principal(), team_facts(services, team, user),
                             switches(services))
        team_id = team.id
        if form.ok:  # a field over its limit is refused whole, never saved cut short
            try:
                await services.execute(lambda: services.store.create_namespace(
                    name=name, team_id=team_id, description=description),
                    actor=user.username)
            except DomainError as e:
                form.fail(e, default_field="name")
    if form.ok:
        raise see_other(f"/namespaces/{name}")
    return _list(request, user, form, status=422)


@routes.get("/namespaces/{name}")
async def namespace_page(request: web.Request) -> web.Response:
    return _detail(request, Form())


def _detail(request: web.Request, form: Form, status: int = 200) -> web.Response:
    services = request.app[SERVICES]
    index = services.index
    ns = _namespace(request)
    user = current_user(request)
    role = role_in(services, user, ns.team_id)
    team = index.teams.get(ns.team_id)
    can: dict[str, Any] = {"manage": False, "visibility": False, "delete": False}
    transfer_to: list[str] = []
    if user is not None:
        s, me, facts = switches(services), user.principal(), ns.facts()
        can["manage"] = allowed(may_update_namespace, me, facts, role, s)
        can["visibility"] = allowed(may_change_visibility, me, facts, role, s)
        can["delete"] = allowed(may_delete_namespace, me, facts, role, s)
        if ns.kind is NamespaceKind.TEAM:
            transfer_to = sorted(
                t.name for t in index.teams.values() if t.id != ns.team_id
                and allowed(may_move_namespace, me, facts, role, team_facts(services, t, user),
                            s))
    visibilities = [v for v in Visibility
                    if not (ns.kind is NamespaceKind.GLOBAL and v is Visibility.PRIVATE)]
    if "description" not in form.values:
        form.values["description"] = Descriptions(services.directory).get(ns.id)
    repositories = sorted((r for r in services.catalog.listed() if r.namespace_id == ns.id),
                          key=lambda r: r.name)
    return render(request, "namespace.html", status=status, ns=ns, team=team, role=role,
                  repositories=repositories,
                  description=Descriptions(services.directory).get(ns.id), can=can,
                  visibilities=visibilities, transfer_to=transfer_to, form=form)


@routes.post("/namespaces/{name}/visibility")
async def change_visibility(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    user = signed_in(request)
    ns = _namespace(request)
    may_change_visibility(user.principal(), ns.facts(), role_in(services, user, ns.team_id),
                          switches(services))
    form = await read_form(request, "visibility")
    try:
        visibility = Visibility(form.values["visibility"])
    except ValueError:
        form.error("visibility", f"unknown visibility kind '{form.values['visibility']}'")
        return _detail(request, form, status=422)
    try:
        await services.execute(lambda: services.store.update_namespace(
            ns.id, visibility=visibility), actor=user.username)
    except DomainError as e:
        form.fail(e, default_field="visibility")
        return _detail(request, form, status=e.status)
    raise see_other(f"/namespaces/{ns.name}")


@routes.post("/namespaces/{name}/description")
async def change_description(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    user = signed_in(request)
    ns = _namespace(request)
    may_update_namespace(user.principal(), ns.facts(), role_in(services, user, ns.team_id),
                         switches(services))
    form = await read_form(request, "description",
                           limits={"description": limit.DESCRIPTION})
    if not form.ok:
        return _detail(request, form, status=422)
    description = form.values["description"].strip()
    await services.execute(lambda: services.store.update_namespace(
        ns.id, description=description), actor=user.username)
    raise see_other(f"/namespaces/{ns.name}")


@routes.post("/namespaces/{name}/team")
async def transfer(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    user = signed_in(request)
    ns = _namespace(request)
    form = await read_form(request, "team", limits={"team": limit.TEAM_NAME})
    team = team_named(services.index, form.values["team"])
    if team is None:
        form.error("team", f"unknown team '{form.values['team']}'")
        return _detail(request, form, status=404)
    may_move_namespace(user.principal(), ns.facts(), role_in(services, user, ns.team_id),
                       team_facts(services, team, user), switches(services))
    team_id = team.id
    try:
        await services.execute(lambda: services.store.update_namespace(ns.id, team_id=team_id),
                               actor=user.username)
    except DomainError as e:
        form.fail(e, default_field="team")
        return _detail(request, form, status=e.status)
    raise see_other(f"/namespaces/{ns.name}")


@routes.post("/namespaces/{name}/delete")
async def delete(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    user = signed_in(request)
    ns = _namespace(request)
    form = await read_form(request, "confirm")
    may_delete_namespace(user.principal(), ns.facts(), role_in(services, user, ns.team_id),
                         switches(services))
    if form.values["confirm"] != ns.name:
        form.error("confirm", "must be the namespace's name")
        return _detail(request, form, status=422)
    try:
        await services.execute(lambda: services.store.delete_namespace(ns.id),
                               actor=user.username)
    except DomainError as e:
        form.error("confirm", e.message)
        return _detail(request, form, status=e.status)
    raise see_other("/namespaces")


