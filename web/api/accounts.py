"""Account security endpoints: an admin unlocks a locked account; a team opts out of LDAP sync.

`POST /api/v1/users/:id/unlock` (admin) ends a lockout at once (Portus F9 only waited or reset).
`POST /api/v1/teams/:id/ldap_check` is Portus's opt-out: 405 unless LDAP group sync is on; the
team's owners or an admin may stop the sync, which is recorded and never resumes by itself.
"""

from __future__ import annotations

from uuid import UUID

from aiohttp import web

from domain.errors import ForbiddenError, NotAllowedError, NotFoundError
from domain.values import Role, TeamKind
from projections.directory import Kind
from web.api.principal import current_admin as api_admin
from web.api.principal import current_user as api_user
from web.appkeys import SERVICES

routes = web.RouteTableDef()


def _id_of(request: web.Request, kind: Kind) -> UUID:
    services = request.app[SERVICES]
    text = request.match_info["id"]
    entry = services.directory.entry(kind, int(text)) if text.isdigit() else None
    if entry is None or entry.deleted:
        raise NotFoundError("Not found", field=kind.value)
    return entry.uuid


@routes.post(r"/api/v1/users/{id}/unlock")
async def unlock_user(request: web.Request) -> web.Response:
    admin = api_admin(request)
    services = request.app[SERVICES]
    user_id = _id_of(request, Kind.USER)
    await services.execute(lambda: services.store.unlock_user(user_id, reason="admin"),
                           actor=admin.username)
    return web.json_response({"id": services.directory.number_of(user_id), "locked": False})


@routes.post(r"/api/v1/teams/{id}/ldap_check")
async def stop_ldap_sync(request: web.Request) -> web.Response:
    user = api_user(request)
    services = request.app[SERVICES]
    ldap = services.ldap
    if ldap is None or not ldap.config.group_sync:
        raise NotAllowedError("this instance has disabled this endpoint")
    team_id = _id_of(request, Kind.TEAM)
    team = services.index.teams.get(team_id)
    if team is None or team.kind is not TeamKind.REGULAR:
        raise NotFoundError("Not found", field="team")
    if not user.admin and team.members.get(user.id) is not Role.OWNER:
        raise ForbiddenError("Authorization fails")
    await services.execute(lambda: services.store.stop_team_directory_sync(team_id),
                           actor=user.username)
    return web.json_response({"id": services.directory.number_of(team_id),
                              "ldap_group_checked": "disabled"})
