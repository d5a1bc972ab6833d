"""Portus API v1 repositories and tags (portus.md §1.12): listing, showing and deleting.

Reads come from the in-memory repositories read model (projections.repositories); a user sees the
repositories of the namespaces they may pull from. Deleting goes through the registry's API
(web.registry_client) and is recorded as Wharfinger's own delete.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from domain.errors import ForbiddenError, NotAllowedError, NotFoundError
from domain.management_policy import may_describe_repository
from domain.policy import repository_decisions
from domain.values import Action
from eventstore.reader import head_position
from projections.directory import Kind
from projections.permissions import NamespaceRecord, PermissionIndex, UserRecord
from projections.repositories import RepositoryRecord, TagRecord
from web.api.pagination import paginated
from web.api.present import role_in
from web.api.requests import api_admin, api_user, json_object, text_field
from web.api.users import no_extra_fields
from web.appkeys import SERVICES
from web.registry_client import RegistryClient, registry_client, target_of
from web.registry_delete import Record, delete_repository, delete_tag
from web.services import Services

routes = web.RouteTableDef()


def allowed(index: PermissionIndex, user: UserRecord, repo: RepositoryRecord,
            action: Action) -> bool:
    ns = index.namespaces.get(repo.namespace_id)
    facts = ns.facts() if ns else None
    role = index.role_of(user.id, ns.team_id) if ns else None
    return repository_decisions(user.principal(), facts, role, index.rules)[action].allowed


def tag_json(services: Services, tag: TagRecord) -> dict[str, Any]:
    author = services.index.user_named(tag.author)
    return {"id": tag.id, "name": tag.name,
            "author": {"id": services.directory.number_of(author.id) if author else None,
                       "name": tag.author},
            "digest": tag.digest, "image_id": "", "media_type": tag.media_type,
            "created_at": tag.created_at.isoformat(), "updated_at": tag.updated_at.isoformat(),
            "size": tag.size, "scanned": 0, "vulnerabilities": None,
            "last_pulled_at": tag.last_pulled_at.isoformat() if tag.last_pulled_at else None}


def repository_json(services: Services, repo: RepositoryRecord, user: UserRecord
                    ) -> dict[str, Any]:
    registry = services.index.registry
    namespace = services.directory.entry_of(repo.namespace_id)
    return {"id": repo.id, "name": repo.name, "full_name": repo.full_name,
            "created_at": repo.created_at.isoformat(), "updated_at": repo.updated_at.isoformat(),
            "description": repo.description,
            "namespace": {"id": services.directory.number_of(repo.namespace_id),
                          "name": namespace.name if namespace else repo.namespace_name},
            "stars": len(services.social.stars.get(repo.full_name, ())),
            "tags_count": len(repo.tags),
            "registry_hostname": registry.external_hostname or registry.hostname
            if registry else None,
            "destroyable": allowed(services.index, user, repo, Action.DELETE)}


def _current(services: Services) -> None:
    if not services.follower.is_current():
        raise web.HTTPServiceUnavailable(reason="The read model is out of date; retry shortly",
                                         headers={"Retry-After": "1"})


def _int(request: web.Request, name: str) -> int:
    text = request.match_info[name]
    if not text.isdigit() or len(text) > 18:
        raise NotFoundError("Not found")
    return int(text)


def visible_repository(request: web.Request, user: UserRecord) -> RepositoryRecord:
    services = request.app[SERVICES]
    _current(services)
    repo = services.catalog.repositories.get(_int(request, "id"))
    if repo is None or not repo.tags:
        raise NotFoundError("Not found")
    if not allowed(services.index, user, repo, Action.PULL):
        raise ForbiddenError("Authorization fails")
    return repo


def namespace_repositories(services: Services, ns: NamespaceRecord, user: UserRecord
                           ) -> list[dict[str, Any]]:
    """The repositories of a namespace, for `GET /api/v1/namespaces/:id/repositories`."""
    return [repository_json(services, repo, user) for repo in services.catalog.listed()
            if repo.namespace_id == ns.id]


@routes.get("/api/v1/repositories")
async def list_repositories(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    user = api_user(request)
    _current(services)
    return paginated(request, [
        repository_json(services, repo, user) for repo in services.catalog.listed()
        if allowed(services.index, user, repo, Action.PULL)])


@routes.get(r"/api/v1/repositories/{id}")
async def show_repository(request: web.Request) -> web.Response:
    user = api_user(request)
    repo = visible_repository(request, user)
    return web.json_response(repository_json(request.app[SERVICES], repo, user))


@routes.put(r"/api/v1/repositories/{id}")
async def describe_repository(request: web.Request) -> web.Response:
    """Portus applies only `{repository: {description}}`; anything else is refused here."""
    services = request.app[SERVICES]
    user = api_user(request)
    repo = visible_repository(request, user)
    body = await json_object(request, "repository")
    no_extra_fields(body, {"description"})
    description = text_field(body, "description", max_length=16384)
    may_describe_repository(user.principal(),
                            role_in(services, user, services.index.namespaces[
                                repo.namespace_id].team_id))
    full_name = repo.full_name
    await services.execute(lambda: services.store.describe_repository(full_name, description),
                           actor=user.username)
    return web.json_response(repository_json(services, repo, user))


@routes.get(r"/api/v1/repositories/{id}/tags")
async def repository_tags(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    repo = visible_repository(request, api_user(request))
    tags = sorted(repo.tags.values(), key=lambda t: t.id)
    return paginated(request, [tag_json(services, t) for t in tags])


@routes.get(r"/api/v1/repositories/{id}/tags/grouped")
async def repository_tags_grouped(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    repo = visible_repository(request, api_user(request))
    return web.json_response([[tag_json(services, t) for t in group]
                              for group in repo.tag_groups()])


@routes.get(r"/api/v1/repositories/{id}/tags/{tag_id}")
async def repository_tag(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    repo = visible_repository(request, api_user(request))
    found = services.catalog.tag(_int(request, "tag_id"))
    if found is None or found[0] is not repo:
        raise NotFoundError("Not found")
    return web.json_response(tag_json(services, found[1]))


@routes.get("/api/v1/tags")
async def list_tags(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    api_admin(request)
    _current(services)
    return paginated(request, [tag_json(services, t)
                               for _, t in sorted(services.catalog.tags.items())])


@routes.get(r"/api/v1/tags/{id}")
async def show_tag(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    user = api_user(request)
    _current(services)
    found = services.catalog.tag(_int(request, "id"))
    if found is None:
        raise NotFoundError("Not found")
    repo, tag = found
    if not allowed(services.index, user, repo, Action.PULL):
        raise ForbiddenError("Authorization fails")
    return web.json_response(tag_json(services, tag))


# -- deletion through the registry's API -----------------------------------------------------


def _may_delete(services: Services, user: UserRecord, repo: RepositoryRecord) -> None:
    if not services.index.rules.delete_enabled:
        raise NotAllowedError("this instance has disabled deletes (delete.enabled)")
    if not allowed(services.index, user, repo, Action.DELETE):
        raise ForbiddenError("Authorization fails")


@asynccontextmanager
async def _client(services: Services) -> AsyncIterator[RegistryClient]:
    registry = services.index.registry
    if registry is None:
        raise NotFoundError("no registry is registered", field="registry")
    async with registry_client(target_of(registry.hostname, registry.use_ssl),
                               services.signing_key, services.settings) as client:
        yield client


def _record(services: Services, user: UserRecord) -> Record:
    async def record(command: Callable[[], list[str]]) -> list[str]:
        removed = await services.execute(command, actor=user.username)
        # The registry's echo may have recorded the delete first (then ours records nothing):
        # wait until this node's read model has everything in the log, so the caller sees it.
        head = await services.pool.run(head_position, services.store)
        await services.follower.wait_for(head)
        return removed

    return record


def _confirmed(request: web.Request) -> bool:
    return request.query.get("confirm_siblings", "").lower() in ("true", "1", "yes")


@routes.delete(r"/api/v1/tags/{id}")
async def delete_tag_route(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    user = api_user(request)
    _current(services)
    found = services.catalog.tag(_int(request, "id"))
    if found is None:
        raise NotFoundError("Not found")
    repo, tag = found
    if not allowed(services.index, user, repo, Action.PULL):
        raise ForbiddenError("Authorization fails")
    _may_delete(services, user, repo)
    async with _client(services) as client:
        gone = await delete_tag(services.store, services.pool, client, _record(services, user),
                                repo.full_name, tag.name, subject=user.username,
                                confirm_siblings=_confirmed(request))
    return web.json_response({"repository": repo.full_name, "deleted": gone})


@routes.delete(r"/api/v1/repositories/{id}")
async def delete_repository_route(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    user = api_user(request)
    repo = visible_repository(request, user)
    _may_delete(services, user, repo)
    async with _client(services) as client:
        gone = await delete_repository(services.store, services.pool, client,
                                       _record(services, user), repo.full_name,
                                       subject=user.username)
    return web.json_response({"repository": repo.full_name, "deleted": gone})


@routes.delete(r"/api/v1/namespaces/{id}/repositories")
async def delete_namespace_repositories(request: web.Request) -> web.Response:
    """Delete every repository of a namespace (the user needs delete on the namespace)."""
    services = request.app[SERVICES]
    user = api_user(request)
    _current(services)
    ns_uuid = services.directory.uuid_of(Kind.NAMESPACE, _int(request, "id"))
    repos = [r for r in services.catalog.listed() if r.namespace_id == ns_uuid]
    if ns_uuid is None:
        raise NotFoundError("Not found")
    for repo in repos:
        _may_delete(services, user, repo)
    deleted: dict[str, list[str]] = {}
    async with _client(services) as client:
        for repo in repos:
            deleted[repo.full_name] = await delete_repository(
                services.store, services.pool, client, _record(services, user),
                repo.full_name, subject=user.username)
    return web.json_response({"deleted": deleted})
