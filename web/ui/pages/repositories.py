"""Repositories: tags grouped by digest with the pull command, pushed by and when, size, last
pulled; delete a tag (with the sibling-tags confirmation) where allowed; the description (Portus
F23: admins and the team's owners); stars and comments.

Reads the registry's read model (projections.repositories); deletes go through the same calls as
`DELETE /api/v1/tags/{id}`, checked by the same policy, so the page offers nothing the API forbids.
"""

from __future__ import annotations

from uuid import UUID

from aiohttp import web

from domain.errors import DomainError, NotFoundError
from domain.management_policy import may_describe_repository
from domain.social import may_comment
from domain.values import Action
from projections.repositories import RepositoryRecord
from web import field_limits as limit
from web.appkeys import SERVICES
from web.repository_actions import allowed as repository_allowed
from web.repository_actions import delete_tag_as, may_delete, may_describe
from web.repository_actions import describe as describe_repository
from web.ui.access import allowed, signed_in
from web.ui.forms import Form, read_form, see_other
from web.ui.rendering import render
from web.ui.sessions import current_user

routes = web.RouteTableDef()


def _repository(request: web.Request) -> RepositoryRecord:
    """The repository of the URL if the visitor may pull from it; 404 otherwise."""
    services = request.app[SERVICES]
    text = request.match_info["id"]
    repo = services.catalog.repositories.get(int(text)) if text.isdigit() and len(text) < 18 \
        else None
    user = current_user(request)
    if repo is None or not repo.tags:
        raise NotFoundError("There is no such repository.")
    ns = services.index.namespaces.get(repo.namespace_id)
    from projections.browsing import may_see_namespace
    if ns is None or not may_see_namespace(services.index, user, ns):
        raise NotFoundError("There is no such repository.")
    return repo



@routes.get(r"/repositories/{id:\d+}")
async def repository_page(request: web.Request) -> web.Response:
    return _page(request, Form(values={"body": ""}))


def _page(request: web.Request, form: Form, status: int = 200) -> web.Response:
    services = request.app[SERVICES]
    repo = _repository(request)
    user = current_user(request)
    index = services.index
    ns = index.namespaces[repo.namespace_id]
    role = index.role_of(user.id if user else None, ns.team_id)
    can_delete = user is not None and index.rules.delete_enabled and repository_allowed(
        index, user, repo, Action.DELETE)
    can_comment = user is not None and allowed(may_comment, user.admin, ns.facts(), role)
    can_describe = user is not None and allowed(may_describe_repository, user.principal(), role)
    form.values.setdefault("description", repo.description)
    registry = index.registry
    host = (registry.external_hostname or registry.hostname) if registry else "registry"
    comments = [(c, index.users.get(c.user_id)) for c in services.social.comments_on(
        repo.full_name)]
    stars = services.social.stars.get(repo.full_name, set())
    return render(request, "repository.html", status=status, repo=repo, ns=ns, host=host,
                  groups=repo.tag_groups(), can_delete=can_delete, can_comment=can_comment,
                  comments=comments, stars=len(stars), can_describe=can_describe,
                  starred=user is not None and user.id in stars, form=form)


@routes.post(r"/repositories/{id:\d+}/star")
async def toggle_star(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    user = signed_in(request)
    repo = _repository(request)
    user_id, name = user.id, repo.full_name
    await services.execute(lambda: services.store.toggle_star(user_id, name),
                           actor=user.username)
    raise see_other(f"/repositories/{repo.id}")


@routes.post(r"/repositories/{id:\d+}/comments")
async def post_comment(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    user = signed_in(request)
    repo = _repository(request)
    ns = services.index.namespaces[repo.namespace_id]
    may_comment(user.admin, ns.facts(), services.index.role_of(user.id, ns.team_id))
    form = await read_form(request, "body", limits={"body": limit.COMMENT})
    if not form.ok:  # too long: refused whole, never posted cut short
        return _page(request, form, status=422)
    user_id, name, body = user.id, repo.full_name, form.values["body"]
    try:
        await services.execute(lambda: services.store.post_comment(user_id, name, body),
                               actor=user.username)
    except DomainError as e:
        form.fail(e, default_field="body")
        return _page(request, form, status=e.status)
    raise see_other(f"/repositories/{repo.id}#comments")


@routes.post(r"/repositories/{id:\d+}/comments/{comment_id}/delete")
async def delete_comment(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    user = signed_in(request)
    repo = _repository(request)
    try:
        comment_id = UUID(request.match_info["comment_id"])
    except ValueError:
        raise NotFoundError("There is no such comment.") from None
    user_id, admin = user.id, user.admin
    await services.execute(lambda: services.store.delete_comment(comment_id, by=user_id,
                                                                 admin=admin),
                           actor=user.username)
    raise see_other(f"/repositories/{repo.id}#comments")


@routes.post(r"/repositories/{id:\d+}/tags/{tag_id:\d+}/delete")
async def delete(request: web.Request) -> web.StreamResponse:
    """Deleting a tag deletes its manifest, so every tag on the same digest goes too (F26): the
    form lists them and the user confirms, as the API's `confirm_siblings`."""
    services = request.app[SERVICES]
    user = signed_in(request)
    repo = _repository(request)
    found = services.catalog.tag(int(request.match_info["tag_id"]))
    if found is None or found[0].id != repo.id:
        raise NotFoundError("There is no such tag.")
    tag = found[1]
    may_delete(services, user, repo)  # before reading the form: a refusal names no field
    form = await read_form(request, "confirm_siblings")
    await delete_tag_as(services, user, repo, tag.name,
                        confirm_siblings=form.values["confirm_siblings"] == "on")
    if services.catalog.by_full_name(repo.full_name) is None or not repo.tags:
        raise see_other(f"/namespaces/{repo.namespace_name}")
    raise see_other(f"/repositories/{repo.id}")


@routes.post(r"/repositories/{id:\d+}/description")
async def describe(request: web.Request) -> web.StreamResponse:
    """As `PUT /api/v1/repositories/:id`: the same policy, the same command."""
    services = request.app[SERVICES]
    user = signed_in(request)
    repo = _repository(request)
    may_describe(services, user, repo)  # before reading the form, as the API refuses first
    form = await read_form(request, "description",
                           limits={"description": limit.DESCRIPTION})
    if not form.ok:
        form.values["body"] = ""
        return _page(request, form, status=422)
    await describe_repository(services, user, repo, form.values["description"].strip())
    raise see_other(f"/repositories/{repo.id}")
