"""The aiohttp application factory. It does no I/O: resources open in the cleanup context."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from web import password_recovery, registry_events
from web.api import (
    accounts,
    activities,
    audit,
    bootstrap,
    meta,
    namespaces,
    openapi,
    registries,
    teams,
    users,
)
from web.api import repositories as repository_api
from web.appkeys import SERVICES, SETTINGS
from web.errors import error_middleware
from web.services import running_services
from web.settings import Settings
from web.token import endpoint
from web.ui.install import setup as setup_console


async def _services_ctx(app: web.Application) -> AsyncIterator[None]:
    async with running_services(app[SETTINGS]) as services:
        app[SERVICES] = services
        yield


def create_app(settings: Settings) -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=1024 * 1024)
    app[SETTINGS] = settings
    app.cleanup_ctx.append(_services_ctx)
    app.add_routes(endpoint.routes)
    app.add_routes(bootstrap.routes)
    app.add_routes(registries.routes)
    app.add_routes(audit.routes)
    app.add_routes(meta.routes)
    app.add_routes(users.routes)
    app.add_routes(teams.routes)
    app.add_routes(namespaces.routes)
    app.add_routes(openapi.routes)
    app.add_routes(activities.routes)
    app.add_routes(accounts.routes)
    app.add_routes(password_recovery.routes)
    setup_console(app)
    app.add_routes(registry_events.routes)
    app.add_routes(repository_api.routes)
    namespaces.repository_lister = repository_api.namespace_repositories
    return app
