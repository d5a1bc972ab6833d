"""The dashboard, search (Portus F30) and explore (F31): only what the visitor may see."""

from __future__ import annotations

from aiohttp import web

from projections.activity.store import Query
from projections.activity.visibility import audience_for
from projections.browsing import (
    Descriptions,
    visible_namespaces,
    visible_repositories,
    visible_teams,
)
from web.appkeys import SERVICES
from web.ui.access import signed_in
from web.ui.forms import see_other
from web.ui.rendering import render
from web.ui.sessions import current_user

routes = web.RouteTableDef()


@routes.get("/")
async def home(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    user = current_user(request)
    if user is None:
        if not services.index.users and services.settings["signup.enabled"]:
            raise see_other("/sign_up")
        if services.settings["anonymous_browsing.enabled"]:
            raise see_other("/explore")
        raise see_other("/sign_in")
    if user.admin and services.index.registry is None:
        raise see_other("/admin/registry")  # Portus F17: nothing works before the registry
    index = services.index
    namespaces = visible_namespaces(index, user)
    personal = [ns for ns in namespaces if ns.kind.value == "personal"
                and index.role_of(user.id, ns.team_id) is not None]
    # Portus F32: the twenty most recent activities the user may see (the feed lags the log a
    # little: a projector follows it).
    activities = await services.pool.run(services.activity.page, Query(limit=20),
                                         audience_for(index, user.id))
    repositories = visible_repositories(index, services.catalog, user)
    starred = services.social.starred_by(user.id)
    personal_ids = {ns.id for ns in personal}
    return render(request, "dashboard.html", namespaces=namespaces, personal=personal,
                  activities=activities, repositories=repositories,
                  starred_repositories=[r for r in repositories if r.full_name in starred],
                  personal_repositories=[r for r in repositories
                                         if r.namespace_id in personal_ids],
                  teams=visible_teams(index, user), descriptions=Descriptions(services.directory),
                  tab=request.query.get("tab", "all"))


@routes.get("/search")
async def search(request: web.Request) -> web.Response:
    """`repo:tag` works: only the text before the first `:` is searched (substring match)."""
    services = request.app[SERVICES]
    user = signed_in(request)
    raw = request.query.get("q", "")[:255]
    term = raw.split(":", 1)[0].strip().lower()
    index = services.index
    descriptions = Descriptions(services.directory)
    namespaces = []
    teams = []
    repositories = []
    if term:
        namespaces = [ns for ns in visible_namespaces(index, user)
                      if term in ns.name.lower() or term in descriptions.get(ns.id, "").lower()]
        repositories = [r for r in visible_repositories(index, services.catalog, user)
                        if term in r.full_name.lower()]
        teams = [t for t in visible_teams(index, user)
                 if term in t.name.lower() or term in descriptions.get(t.id, "").lower()]
    return render(request, "search.html", q=raw, namespaces=namespaces, teams=teams,
                  repositories=repositories,
                  descriptions=descriptions)


@routes.get("/explore")
async def explore(request: web.Request) -> web.Response:
    """Public namespaces for anyone, when `anonymous_browsing.enabled` (else back home)."""
    services = request.app[SERVICES]
    if not services.settings["anonymous_browsing.enabled"]:
        raise see_other("/")
    raw = request.query.get("q", "")[:255]
    term = raw.split(":", 1)[0].strip().lower()
    public = [ns for ns in visible_namespaces(services.index, None)
              if not term or term in ns.name.lower()]
    repositories = [r for r in visible_repositories(services.index, services.catalog, None)
                    if not term or term in r.full_name.lower()]
    return render(request, "explore.html", q=raw, namespaces=public, repositories=repositories,
                  descriptions=Descriptions(services.directory))
