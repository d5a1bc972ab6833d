"""Wiring the console into the app: pages, static assets, middleware and the CSRF key."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from web.appkeys import CONSOLE, SERVICES, VERIFICATION_GATE
from web.log_verification import VerificationGate
from web.secret_files import load_or_create_secret
from web.ui.console import STATIC_DIR, Console, template_environment
from web.ui.middleware import console_middleware
from web.ui.pages import (
    activities,
    admin,
    audit,
    auth,
    browse,
    namespaces,
    profile,
    repositories,
    teams,
)


async def _console_ctx(app: web.Application) -> AsyncIterator[None]:
    services = app[SERVICES]
    key = await services.pool.run(load_or_create_secret,
                                  services.settings.keys_dir / "console.secret")
    app[CONSOLE] = Console(template_environment(), key.encode())
    yield
    await app[VERIFICATION_GATE].stop()


def setup(app: web.Application) -> None:
    app.middlewares.append(console_middleware)
    app.cleanup_ctx.append(_console_ctx)
    app[VERIFICATION_GATE] = VerificationGate()
    for module in (auth, browse, namespaces, teams, admin, profile, audit, repositories,
                   activities):
        app.add_routes(module.routes)
    app.router.add_static("/assets/", STATIC_DIR, name="assets", append_version=False)
