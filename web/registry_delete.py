"""Deleting tags and repositories through the registry's API (portus.md §1.5; issue 3 §7).

Distribution 2.8 deletes manifests by digest, which removes every tag on that digest. So deleting
a tag whose digest carries other tags first tries to delete the tag alone (OCI distribution 1.1
`DELETE /v2/<name>/manifests/<tag>`); where the registry cannot, it is refused unless the caller
confirmed that the sibling tags go too. The delete is recorded as Wharfinger's own; the registry's
echo of it (its notification) then finds nothing left to remove, so the fact is recorded once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from domain.application import Wharfinger
from domain.errors import ConflictError, DomainError, NotAllowedError, NotFoundError
from web.blocking import BlockingPool
from web.registry_client import RegistryClient, RegistryUnavailableError

Record = Callable[[Callable[[], list[str]]], Awaitable[list[str]]]
"""Runs a recording command as the deleting user (and, in the service, waits for the read
model to show it)."""


class SiblingsError(ConflictError):
    """Deleting this tag would delete other tags too, and that was not confirmed."""

    def __init__(self, tag: str, digest: str, siblings: list[str]) -> None:
        super().__init__(
            f"deleting {tag} deletes its manifest {digest}, which also removes the tag(s) "
            f"{', '.join(siblings)}; confirm with confirm_siblings=true (CLI: --yes)",
            field="confirm_siblings")
        self.siblings = siblings


class RegistryRefusedError(DomainError):
    """The registry could not be reached or did not delete."""

    status = 502


async def delete_tag(store: Wharfinger, pool: BlockingPool, client: RegistryClient,
                     record: Record, full_name: str, tag: str, *, subject: str,
                     confirm_siblings: bool) -> list[str]:
    """Delete `tag`; returns every tag that went."""
    _, tags = await pool.run(store.repository_state, full_name)
    digest = tags.get(tag)
    if digest is None:
        raise NotFoundError(f"tag {full_name}:{tag} not found", field="tag")
    siblings = sorted(t for t, d in tags.items() if d == digest and t != tag)
    if siblings:
        status = await _delete(client, full_name, tag, subject)
        if status == 202:  # the registry deleted the tag alone
            await record(lambda: store.record_own_deletion(full_name, tag=tag))
            return [tag]
        if not confirm_siblings:
            raise SiblingsError(tag, digest, siblings)
    return await _delete_digest(store, pool, client, record, full_name, digest, subject)


async def delete_repository(store: Wharfinger, pool: BlockingPool, client: RegistryClient,
                            record: Record, full_name: str, *, subject: str) -> list[str]:
    """Delete every manifest that carries a tag in the repository; returns the tags gone."""
    _, tags = await pool.run(store.repository_state, full_name)
    if not tags:
        raise NotFoundError(f"repository {full_name} not found", field="repository")
    gone: list[str] = []
    for digest in sorted(set(tags.values())):
        gone.extend(await _delete_digest(store, pool, client, record, full_name, digest,
                                         subject))
    return sorted(gone)


async def _delete_digest(store: Wharfinger, pool: BlockingPool, client: RegistryClient,
                         record: Record, full_name: str, digest: str, subject: str
                         ) -> list[str]:
    _, tags = await pool.run(store.repository_state, full_name)
    going = sorted(t for t, d in tags.items() if d == digest)
    status = await _delete(client, full_name, digest, subject)
    if status == 405:
        raise NotAllowedError("the registry refuses deletes; set storage.delete.enabled: true "
                              "in its configuration")
    if status not in (202, 404):  # 404: already gone from the registry, record it
        raise RegistryRefusedError(f"the registry answered {status} to the delete of {digest}")
    await record(lambda: store.record_own_deletion(full_name, digest=digest))
    return going


async def _delete(client: RegistryClient, full_name: str, reference: str, subject: str) -> int:
    try:
        return await client.delete_manifest(full_name, reference, subject=subject)
    except RegistryUnavailableError as e:
        raise RegistryRefusedError(f"cannot reach the registry: {e}") from None
