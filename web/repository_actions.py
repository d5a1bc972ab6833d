"""What the API and the console both do to a repository: decide who may act on it, delete tags
and repositories through the registry, describe it.

One place for each, so a console page can never allow what the API refuses (issue 6) and the
console never reaches into the API module's internals.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from domain.errors import ForbiddenError, NotAllowedError, NotFoundError
from domain.management_policy import may_describe_repository
from domain.policy import repository_decisions
from domain.values import Action
from eventstore.reader import head_position
from projections.permissions import PermissionIndex, UserRecord
from projections.repositories import RepositoryRecord
from web.registry_client import RegistryClient, registry_client, target_of
from web.registry_delete import Record, delete_repository, delete_tag
from web.services import Services


def allowed(index: PermissionIndex, user: UserRecord, repo: RepositoryRecord,
            action: Action) -> bool:
    ns = index.namespaces.get(repo.namespace_id)
    facts = ns.facts() if ns else None
    role = index.role_of(user.id, ns.team_id) if ns else None
    return repository_decisions(user.principal(), facts, role, index.rules)[action].allowed


def may_delete(services: Services, user: UserRecord, repo: RepositoryRecord) -> None:
    if not services.index.rules.delete_enabled:
        raise NotAllowedError("this instance has disabled deletes (delete.enabled)")
    if not allowed(services.index, user, repo, Action.DELETE):
        raise ForbiddenError("Authorization fails")


@asynccontextmanager
async def registry_session(services: Services) -> AsyncIterator[RegistryClient]:
    registry = services.index.registry
    if registry is None:
        raise NotFoundError("no registry is registered", field="registry")
    async with registry_client(target_of(registry.hostname, registry.use_ssl),
                               services.signing_key, services.settings) as client:
        yield client


def _recorder(services: Services, user: UserRecord) -> Record:
    async def record(command: Callable[[], list[str]]) -> list[str]:
        removed = await services.execute(command, actor=user.username)
        # The registry's echo may have recorded the delete first (then ours records nothing):
        # wait until this node's read model has everything in the log, so the caller sees it.
        head = await services.pool.run(head_position, services.store)
        await services.follower.wait_for(head)
        return removed

    return record


async def delete_tag_as(services: Services, user: UserRecord, repo: RepositoryRecord,
                        tag: str, *, confirm_siblings: bool) -> list[str]:
    may_delete(services, user, repo)
    async with registry_session(services) as client:
        return await delete_tag(services.store, services.pool, client,
                                _recorder(services, user), repo.full_name, tag,
                                subject=user.username, confirm_siblings=confirm_siblings)


async def delete_repositories_as(services: Services, user: UserRecord,
                                 repos: list[RepositoryRecord]) -> dict[str, list[str]]:
    """Every repository checked first, so a refusal deletes none of them."""
    for repo in repos:
        may_delete(services, user, repo)
    deleted: dict[str, list[str]] = {}
    async with registry_session(services) as client:
        for repo in repos:
            deleted[repo.full_name] = await delete_repository(
                services.store, services.pool, client, _recorder(services, user),
                repo.full_name, subject=user.username)
    return deleted


def may_describe(services: Services, user: UserRecord, repo: RepositoryRecord) -> None:
    ns = services.index.namespaces[repo.namespace_id]
    may_describe_repository(user.principal(), services.index.role_of(user.id, ns.team_id))


async def describe(services: Services, user: UserRecord, repo: RepositoryRecord,
                   description: str) -> None:
    may_describe(services, user, repo)
    full_name = repo.full_name
    await services.execute(lambda: services.store.describe_repository(full_name, description),
                           actor=user.username)
