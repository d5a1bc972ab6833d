"""Portus API v1 repositories and tags (portus.md §1.12): listing, showing and deleting.

Reads come from the in-memory repositories read model (projections.repositories); a user sees the
repositories of the namespaces they may pull from. Deleting goes through the registry's API
(web.registry_client) and is recorded as Wharfinger's own delete.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from domain.errors import ForbiddenError, NotFoundError
from domain.values import Action
from projections.directory import Kind
from projections.permissions import NamespaceRecord, UserRecord
from projections.repositories import RepositoryRecord, TagRecord
from web import field_limits as limit
from web.api.pagination import paginated
from web.api.requests import api_admin, api_user, json_object, text_field
from web.api.users import no_extra_fields
from web.appkeys import SERVICES
from web.repository_actions import allowed, delete_repositories_as, delete_tag_as, describe
from web.services import Services

routes = web.RouteTableDef()


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


def _int(request: web.Request, name: str) -> int:
    text = request.match_info[name]
    if not text.isdigit() or len(text) > 18:
        raise NotFoundError("Not found")
    return int(text)


def visible_repository(request: web.Request, user: UserRecord) -> RepositoryRecord:
    services = request.app[SERVICES]
    services.follower.ensure_current()
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
    services.follower.ensure_current()
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
    description = text_field(body, "description", max_length=limit.DESCRIPTION)
    await describe(services, user, repo, description)
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
    services.follower.ensure_current()
    return paginated(request, [tag_json(services, t)
                               for _, t in sorted(services.catalog.tags.items())])


@routes.get(r"/api/v1/tags/{id}")
async def show_tag(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    user = api_user(request)
    services.follower.ensure_current()
    found = services.catalog.tag(_int(request, "id"))
    if found is None:
        raise NotFoundError("Not found")
    repo, tag = found
    if not allowed(services.index, user, repo, Action.PULL):
        raise ForbiddenError("Authorization fails")
    return web.json_response(tag_json(services, tag))


# -- deletion through the registry's API -----------------------------------------------------


def _confirmed(request: web.Request) -> bool:
    return request.query.get("confirm_siblings", "").lower() in ("true", "1", "yes")


@routes.delete(r"/api/v1/tags/{id}")
async def delete_tag_route(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    user = api_user(request)
    services.follower.ensure_current()
    found = services.catalog.tag(_int(request, "id"))
    if found is None:
        raise NotFoundError("Not found")
    repo, tag = found
    if not allowed(services.index, user, repo, Action.PULL):
        raise ForbiddenError("Authorization fails")
    gone = await delete_tag_as(services, user, repo, tag.name,
                               confirm_siblings=_confirmed(request))
    return web.json_response({"repository": repo.full_name, "deleted": gone})


@routes.delete(r"/api/v1/repositories/{id}")
async def delete_repository_route(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    user = api_user(request)
    repo = visible_repository(request, user)
    deleted = await delete_repositories_as(services, user, [repo])
    return web.json_response({"repository": repo.full_name, "deleted": deleted[repo.full_name]})


@routes.delete(r"/api/v1/namespaces/{id}/repositories")
async def delete_namespace_repositories(request: web.Request) -> web.Response:
    """Delete every repository of a namespace (the user needs delete on the namespace)."""
    services = request.app[SERVICES]
    user = api_user(request)
    services.follower.ensure_current()
    ns_uuid = services.directory.uuid_of(Kind.NAMESPACE, _int(request, "id"))
    repos = [r for r in services.catalog.listed() if r.namespace_id == ns_uuid]
    if ns_uuid is None:
        raise NotFoundError("Not found")
    return web.json_response({"deleted": await delete_repositories_as(services, user, repos)})
