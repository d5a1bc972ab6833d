"""Changing the registry's settings (Portus F17): what the API and the console both call."""

from __future__ import annotations

from domain.errors import InvalidInputError
from projections.permissions import UserRecord
from web.services import Services


async def change_registry(services: Services, actor: UserRecord, *, name: str | None,
                          hostname: str | None, external_hostname: str | None,
                          use_ssl: bool | None) -> None:
    current = services.index.registry
    if (hostname is not None and current is not None and hostname.strip() != current.hostname
            and any(services.catalog.listed())):
        # Repository names and tokens' audience are tied to the hostname; changing it under
        # existing images would orphan them.
        raise InvalidInputError("Registry is not empty, cannot change hostname",
                                field="hostname")
    await services.execute(lambda: services.store.update_registry(
        name=name, hostname=hostname, external_hostname=external_hostname, use_ssl=use_ssl),
        actor=actor.username)
