"""Refuse to delete namespaces that still hold repositories.

Deleting a namespace records a fact in our log; the images stay in the registry. Deleting one that
still holds repositories would leave images nobody can see or delete through Wharfinger, so the
repositories go first (through the registry: `DELETE /api/v1/namespaces/:id/repositories` or
`wharfinger delete --namespace NS`), then the namespace.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from domain.errors import DomainError
from web.services import Services


class NamespaceNotEmptyError(DomainError):
    status = 422


def refuse_if_holding_repositories(services: Services, namespace_ids: Iterable[UUID], *,
                                   field: str) -> None:
    wanted = set(namespace_ids)
    held = sorted(r.full_name for r in services.catalog.listed() if r.namespace_id in wanted)
    if held:
        shown = ", ".join(held[:5]) + (f" and {len(held) - 5} more" if len(held) > 5 else "")
        raise NamespaceNotEmptyError(
            f"Still holds repositories ({shown}): delete them first (DELETE"
            " /api/v1/namespaces/:id/repositories or `wharfinger delete --namespace`)",
            field=field)
