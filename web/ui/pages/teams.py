"""Teams: list, create, members with roles (Portus F21, portus.md §1.4, §3.2)."""

from __future__ import annotations

from uuid import UUID

from aiohttp import web

from domain.errors import DomainError, NotFoundError
from domain.management_policy import (
    may_create_namespace,
    may_create_team,
    may_delete_team,
    may_manage_members,
    may_update_team,
    may_view_team,
)
from domain.values import Role
from projections.browsing import Descriptions, team_named, visible_teams
from projections.permissions import TeamRecord, UserRecord
from web import field_limits as limit
from web.api.present import switches, team_facts
from web.appkeys import SERVICES
from web.ui.access import allowed, signed_in
from web.ui.forms import Form, read_form, see_other
from web.ui.rendering import render

routes = web.RouteTableDef()


def _team(request: web.Request, user: UserRecord) -> TeamRecord:
    """The team of the URL if the user may view it; hidden teams are 404 for everyone."""
    services = request.app[SERVICES]
    team = team_named(services.index, request.match_info["name"])
    if team is None or not allowed(may_view_team, user.principal(),
                                   team_facts(services, team, user)):
        raise NotFoundError("There is no such team.")
    return team


@routes.get("/teams")
async def teams_page(request: web.Request) -> web.Response:
    user = signed_in(request)
    return _list(request, user, Form(values={"name": "", "description": ""}))


def _list(request: web.Request, user: UserRecord, form: Form, status: int = 200
          ) -> web.Response:
    services = request.app[SERVICES]
    teams = visible_teams(services.index, user)
    namespaces: dict[UUID, int] = {}
    for ns in services.index.namespaces.values():
        namespaces[ns.team_id] = namespaces.get(ns.team_id, 0) + 1
    return render(request, "teams.html", status=status, teams=teams, namespaces=namespaces,
                  descriptions=Descriptions(services.directory),
                  can_create=allowed(may_create_team, user.principal(), switches(services),
                                     for_other_owner=False),
                  form=form)


@routes.post("/teams")
async def create_team(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    user = signed_in(request)
    may_create_team(user.principal(), switches(services), for_other_owner=False)
    form = await read_form(request, "name", "description",
                           limits={"name": limit.TEAM_NAME, "description": limit.DESCRIPTION})
    if not form.ok:  # a field over its limit is refused whole, never saved cut short
        return _list(request, user, form, status=422)
    name, description = form.values["name"].strip(), form.values["description"].strip()
    try:
        await services.execute(lambda: services.store.create_team(
            name=name, owner_id=user.id, description=description), actor=user.username)
    except DomainError as e:
        form.fail(e, default_field="name")
        return _list(request, user, form, status=e.status)
    raise see_other(f"/teams/{name}")


@routes.get("/teams/{name}")
async def team_page(request: web.Request) -> web.Response:
    return _detail(request, signed_in(request), Form(values={"username": "", "role": ""}))


def _detail(request: web.Request, user: UserRecord, form: Form, status: int = 200
            ) -> web.Response:
    services = request.app[SERVICES]
    index = services.index
    team = _team(request, user)
    role = team.members.get(user.id)
    facts = team_facts(services, team, user)
    members = sorted(((index.users[uid], r) for uid, r in team.members.items()
                      if uid in index.users and index.users[uid].enabled),
                     key=lambda m: m[0].username)
    namespaces = sorted((ns for ns in index.namespaces.values() if ns.team_id == team.id),
                        key=lambda ns: ns.name)
    return render(request, "team.html", status=status, team=team, role=role, members=members,
                  namespaces=namespaces, description=Descriptions(services.directory).get(team.id),
                  roles=list(Role), form=form,
                  can_manage_members=allowed(may_manage_members, user.principal(), facts),
                  can_create_namespace=allowed(may_create_namespace, user.principal(), facts,
                                               switches(services)),
                  can_update=allowed(may_update_team, user.principal(), facts,
                                     switches(services)),
                  can_delete=allowed(may_delete_team, user.principal(), facts,
                                     switches(services)),
                  other_teams=[t.name for t in visible_teams(index, user) if t.id != team.id])


def _members_guard(request: web.Request, user: UserRecord) -> TeamRecord:
    team = _team(request, user)
    may_manage_members(user.principal(), team_facts(request.app[SERVICES], team, user))
    return team


def _role(value: str, form: Form) -> Role | None:
    try:
        return Role(value)
    except ValueError:
        form.error("role", "is not a role (viewer, contributor or owner)")
        return None


@routes.post("/teams/{name}/members")
async def add_member(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    user = signed_in(request)
    team = _members_guard(request, user)
    form = await read_form(request, "username", "role", limits={"username": limit.USERNAME})
    role = _role(form.values["role"], form)
    member = services.index.user_named(form.values["username"].strip())
    if (member is None or not member.enabled) and "username" not in form.errors:
        form.error("username", "no such user")  # a name over its limit is said so instead
    if form.ok and member is not None and role is not None:
        member_id, team_id, chosen = member.id, team.id, role
        try:  # an admin always joins as owner (F21): the command decides
            await services.execute(
                lambda: services.store.add_team_member(team_id, member_id, chosen),
                actor=user.username)
        except DomainError as e:
            form.fail(e, default_field="username")
    if form.ok:
        raise see_other(f"/teams/{team.name}")
    return _detail(request, user, form, status=422)


@routes.post("/teams/{name}/members/{username}")
async def change_member(request: web.Request) -> web.StreamResponse:
    """Change a member's role, or remove them (`role=remove`)."""
    services = request.app[SERVICES]
    user = signed_in(request)
    team = _members_guard(request, user)
    form = await read_form(request, "role")
    member = services.index.user_named(request.match_info["username"])
    if member is None or member.id not in team.members:
        raise NotFoundError("That user is not a member of this team.")
    member_id, team_id = member.id, team.id
    form.values["member"] = member.username  # the row the answer belongs to
    try:
        if form.values["role"] == "remove":
            await services.execute(
                lambda: services.store.remove_team_member(team_id, member_id),
                actor=user.username)
        else:
            role = _role(form.values["role"], form)
            if role is not None:
                chosen = role
                await services.execute(
                    lambda: services.store.change_team_member_role(team_id, member_id, chosen),
                    actor=user.username)
    except DomainError as e:
        form.error("member", e.message)  # shown in the member's row, not under "Add a member"
    if "role" in form.errors:
        form.error("member", f"Role {form.errors.pop('role')}")
    if form.ok:
        raise see_other(f"/teams/{team.name}")
    return _detail(request, user, form, status=422)


@routes.post("/teams/{name}/settings")
async def update_team(request: web.Request) -> web.StreamResponse:
    """Rename or describe a team: owners with `manage_team`, and admins (portus.md §1.4)."""
    services = request.app[SERVICES]
    user = signed_in(request)
    team = _team(request, user)
    may_update_team(user.principal(), team_facts(services, team, user), switches(services))
    form = await read_form(request, "name", "description",
                           limits={"name": limit.TEAM_NAME, "description": limit.DESCRIPTION})
    if not form.ok:
        return _detail(request, user, form, status=422)
    name, description = form.values["name"].strip(), form.values["description"].strip()
    team_id = team.id
    try:
        await services.execute(lambda: services.store.update_team(
            team_id, name=name if name != team.name else None, description=description),
            actor=user.username)
    except DomainError as e:
        form.fail(e, default_field="name")
        return _detail(request, user, form, status=e.status)
    raise see_other(f"/teams/{name}")


@routes.post("/teams/{name}/delete")
async def delete_team(request: web.Request) -> web.StreamResponse:
    """Delete a team; its namespaces move to `new_team` when one is chosen, else go with it."""
    services = request.app[SERVICES]
    user = signed_in(request)
    team = _team(request, user)
    may_delete_team(user.principal(), team_facts(services, team, user), switches(services))
    form = await read_form(request, "confirm", "new_team")
    if form.values["confirm"] != team.name:
        form.error("confirm", "must be the team's name")
        return _detail(request, user, form, status=422)
    new_team_id = None
    if form.values["new_team"]:
        new_team = team_named(services.index, form.values["new_team"])
        if new_team is None or new_team.id == team.id:
            form.error("new_team", "unknown team")
            return _detail(request, user, form, status=404)
        new_team_id = new_team.id
    team_id = team.id
    namespace_ids = [ns.id for ns in services.index.namespaces.values() if ns.team_id == team_id]
    try:
        await services.execute(lambda: services.store.delete_team(
            team_id, namespace_ids=namespace_ids, new_team_id=new_team_id), actor=user.username)
    except DomainError as e:
        form.fail(e, default_field="confirm")
        return _detail(request, user, form, status=e.status)
    raise see_other("/teams")
