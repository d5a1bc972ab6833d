"""Disabling and enabling an account (Portus F7): what the API and the console both call.

Admins disable anyone and users themselves; only admins enable; never the last enabled admin
(domain.management_policy.may_set_enabled, and the command re-checks it under its guard).
"""

from __future__ import annotations

from domain.management_policy import may_set_enabled
from projections.permissions import UserRecord
from web.services import Services


async def set_enabled(services: Services, actor: UserRecord, user: UserRecord, *,
                      enable: bool) -> None:
    last_admin = user.admin and user.enabled and not any(
        u.admin and u.enabled and u.id != user.id for u in services.index.users.values())
    may_set_enabled(actor.principal(), user.id, enable=enable,
                    target_is_last_enabled_admin=last_admin)
    user_id = user.id
    await services.execute(lambda: services.store.set_user_enabled(user_id, enable),
                           actor=actor.username)
