"""Deleting an account (Portus F7's admin panel): what the API and the console both call.

Refused for oneself (an admin would lock themselves out mid-request, and the last enabled admin
is always the one asking), for the only owner of a team (domain: LastOwnerError), and while the
personal namespace holds repositories (the command decides both). The account leaves its teams,
its personal namespace and team go with it, and its names become free.
"""

from __future__ import annotations

from domain.errors import ForbiddenError
from domain.values import TeamKind
from projections.permissions import UserRecord
from web.api.present import personal_namespace
from web.services import Services


async def delete_account(services: Services, actor: UserRecord, user: UserRecord) -> None:
    if user.id == actor.id:
        raise ForbiddenError("You cannot delete yourself", field="user")
    team_ids = [t.id for t in services.index.teams.values()
                if user.id in t.members and t.kind is not TeamKind.PERSONAL]
    ns = personal_namespace(services, user)
    personal = [(ns.id, ns.team_id)] if ns else []
    await services.execute(lambda: services.store.delete_user(
        user.id, team_ids=team_ids, personal=personal), actor=actor.username)
