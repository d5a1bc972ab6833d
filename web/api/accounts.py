"""Account security endpoints: an admin unlocks a locked account.

`POST /api/v1/users/:id/unlock` (admin) ends a lockout at once (Portus F9 only waited or reset).
The LDAP team opt-out, `POST /api/v1/teams/:id/ldap_check`, lives with the team routes.
"""

from __future__ import annotations

from uuid import UUID

from aiohttp import web

from domain.errors import NotFoundError
from projections.directory import Kind
from web.api.present import user_body
from web.api.principal import current_admin as api_admin
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
    return web.json_response(await user_body(services, services.index.users[user_id]))
