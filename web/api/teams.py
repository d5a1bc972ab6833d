"""`/api/v1/teams`: teams, their namespaces and members (portus.md §1.4, §3.2, F21).

Hidden teams (personal, admins) are "Not found" to everyone. Admins always join as owners and
cannot be demoted; a team keeps an owner. Team deletion works whatever `delete.contributors` says
(Portus answered 500 when it was on, §7.13).
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from aiohttp import web

from domain.errors import InvalidInputError, NotAllowedError
from domain.management_policy import (
    Switches,
    TeamFacts,
    may_create_team,
    may_delete_team,
    may_manage_members,
    may_update_team,
    may_view_team,
)
from domain.policy import Principal
from domain.values import Role, TeamKind
from projections.permissions import TeamRecord, UserRecord
from web import field_limits as limit
from web.api.pagination import paginated
from web.api.present import (
    find_team,
    find_user,
    member_json,
    namespace_json,
    switches,
    team_facts,
    team_json,
    team_named,
    user_named,
)
from web.api.principal import current_user
from web.api.requests import json_object, optional_text, text_field
from web.api.users import no_extra_fields
from web.appkeys import SERVICES
from web.services import Services

routes = web.RouteTableDef()


def role_field(body: dict[str, object], *, required: bool = True) -> Role | None:
    raw = body.get("role")
    if raw is None:
        if required:
            raise InvalidInputError("is missing", field="role")
        return None
    if not isinstance(raw, str) or raw not in Role.__members__.values():
        raise InvalidInputError("does not have a valid value (viewer, contributor, owner)",
                                field="role")
    return Role(raw)


TeamRule = Callable[[Principal, TeamFacts, Switches], None]


def _team_allowed(request: web.Request, rule: TeamRule
                  ) -> tuple[Services, UserRecord, TeamRecord]:
    """What every `/teams/{id}` route starts with: the caller, the team (hidden or unknown ones
    are "Not found") and the rule's verdict on the caller and that team."""
    services = request.app[SERVICES]
    user = current_user(request)
    team = find_team(services, request.match_info["id"])
    rule(user.principal(), team_facts(services, team, user), switches(services))
    return services, user, team


def _viewing(actor: Principal, team: TeamFacts, _: Switches) -> None:
    may_view_team(actor, team)


def _managing_members(actor: Principal, team: TeamFacts, _: Switches) -> None:
    may_manage_members(actor, team)


@routes.get("/api/v1/teams")
async def list_teams(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    user = current_user(request)
    teams = [t for t in services.index.teams.values() if t.kind is TeamKind.REGULAR
             and (user.admin or user.id in t.members)]
    return paginated(request, [team_json(services, t, user) for t in teams])


@routes.post("/api/v1/teams")
async def create_team(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    user = current_user(request)
    body = await json_object(request, "team")
    no_extra_fields(body, {"name", "description", "owner_id"})
    name = text_field(body, "name", max_length=limit.TEAM_NAME)
    description = text_field(body, "description", required=False,
                             max_length=limit.DESCRIPTION)
    owner = user
    raw_owner = body.get("owner_id")
    if raw_owner is not None:
        if isinstance(raw_owner, bool) or not isinstance(raw_owner, int | str):
            raise InvalidInputError("must be an integer", field="owner_id")
        may_create_team(user.principal(), switches(services), for_other_owner=True)
        owner = find_user(services, str(raw_owner))
    else:
        may_create_team(user.principal(), switches(services), for_other_owner=False)
    team = await services.execute(lambda: services.store.create_team(
        name=name, owner_id=owner.id, description=description), actor=user.username)
    return web.json_response(team_json(services, services.index.teams[team.id], user),
                             status=201)


@routes.get("/api/v1/teams/{id}")
async def show_team(request: web.Request) -> web.Response:
    services, user, team = _team_allowed(request, _viewing)
    return web.json_response(team_json(services, team, user))


@routes.put("/api/v1/teams/{id}")
async def update_team(request: web.Request) -> web.Response:
    services, user, team = _team_allowed(request, may_update_team)
    body = await json_object(request, "team")
    no_extra_fields(body, {"name", "description"})
    name = optional_text(body, "name", max_length=limit.TEAM_NAME)
    description = optional_text(body, "description", max_length=limit.DESCRIPTION)
    await services.execute(lambda: services.store.update_team(
        team.id, name=name, description=description), actor=user.username)
    return web.json_response(team_json(services, services.index.teams[team.id], user))


@routes.delete("/api/v1/teams/{id}")
async def delete_team(request: web.Request) -> web.Response:
    services, user, team = _team_allowed(request, may_delete_team)
    new_team: UUID | None = None
    if "new_team" in request.query:
        new_team = team_named(services, request.query["new_team"], field="new_team").id
    namespace_ids = [ns.id for ns in services.index.namespaces.values() if ns.team_id == team.id]
    await services.execute(lambda: services.store.delete_team(
        team.id, namespace_ids=namespace_ids, new_team_id=new_team), actor=user.username)
    return web.Response(status=204)


@routes.get("/api/v1/teams/{id}/namespaces")
async def team_namespaces(request: web.Request) -> web.Response:
    services, _, team = _team_allowed(request, _viewing)
    namespaces = [namespace_json(services, ns) for ns in services.index.namespaces.values()
                  if ns.team_id == team.id]
    return paginated(request, namespaces)


@routes.get("/api/v1/teams/{id}/members")
async def team_members(request: web.Request) -> web.Response:
    services, user, team = _team_allowed(request, _viewing)
    members = []
    for member_id, role in team.members.items():
        member = services.index.users.get(member_id)
        if member is not None and (member.enabled or user.admin):  # F7: disabled are hidden
            members.append(member_json(services, team, member, role, user))
    return paginated(request, members)


@routes.post("/api/v1/teams/{id}/members")
async def add_member(request: web.Request) -> web.Response:
    services, user, team = _team_allowed(request, _managing_members)
    body = await json_object(request, "member")
    no_extra_fields(body, {"user", "role"})
    member = user_named(services, text_field(body, "user", max_length=limit.USERNAME))
    role = role_field(body)
    assert role is not None
    given = await services.execute(lambda: services.store.add_team_member(
        team.id, member.id, role), actor=user.username)
    return web.json_response(member_json(services, services.index.teams[team.id], member,
                                         given, user), status=201)


@routes.put("/api/v1/teams/{id}/members/{member_id}")
async def change_member(request: web.Request) -> web.Response:
    services, user, team = _team_allowed(request, _managing_members)
    member = find_user(services, request.match_info["member_id"])
    body = await json_object(request, "member")
    no_extra_fields(body, {"role"})
    role = role_field(body)
    assert role is not None
    await services.execute(lambda: services.store.change_team_member_role(
        team.id, member.id, role), actor=user.username)
    return web.json_response(member_json(services, services.index.teams[team.id], member,
                                         role, user))


@routes.delete("/api/v1/teams/{id}/members/{member_id}")
async def remove_member(request: web.Request) -> web.Response:
    services, user, team = _team_allowed(request, _managing_members)
    member = find_user(services, request.match_info["member_id"])
    await services.execute(lambda: services.store.remove_team_member(team.id, member.id),
                           actor=user.username)
    return web.Response(status=204)


@routes.post("/api/v1/teams/{id}/ldap_check")
async def ldap_check(request: web.Request) -> web.Response:
    services, user, team = _team_allowed(request, may_update_team)
    if not (services.settings["ldap.enabled"] and services.settings["ldap.group_sync.enabled"]):
        raise NotAllowedError("this instance has disabled this endpoint")
    # The team stops following its LDAP group (issue 7; web.ldap.sync skips it from now on).
    await services.execute(lambda: services.store.stop_team_directory_sync(team.id),
                           actor=user.username)
    return web.json_response({}, status=200)
