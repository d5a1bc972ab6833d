"""Changing the registry's settings (Portus F17): what the API and the console both call.

The hostname cannot change once the registry holds repositories; the command decides that
(domain.management.update_registry), in the same save, so a first push racing with the change
cannot slip between a check here and the write.
"""

from __future__ import annotations

from projections.permissions import UserRecord
from web.services import Services


async def change_registry(services: Services, actor: UserRecord, *, name: str | None,
                          hostname: str | None, external_hostname: str | None,
                          use_ssl: bool | None) -> None:
    await services.execute(lambda: services.store.update_registry(
        name=name, hostname=hostname, external_hostname=external_hostname, use_ssl=use_ssl),
        actor=actor.username)
