"""Rendering pages: one call that gives every template the visitor, the CSRF token and settings."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from web.appkeys import CONSOLE, SERVICES
from web.ui.sessions import csrf_binding, current_user


def render(request: web.Request, template: str, *, status: int = 200,
           **context: Any) -> web.Response:
    console = request.app[CONSOLE]
    services = request.app[SERVICES]
    settings = services.settings
    user = current_user(request)
    body = console.templates.get_template(template).render(
        user=user,
        csrf_token=console.csrf_token(csrf_binding(request)),
        path=request.path,
        registry=services.index.registry,
        signup_enabled=bool(settings["signup.enabled"]) and not settings["ldap.enabled"],
        recovery_enabled=services.mailer is not None and services.ldap is None,
        anonymous_browsing=bool(settings["anonymous_browsing.enabled"]),
        display_names=bool(settings["display_name.enabled"]),
        **context,
    )
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


def error_page(request: web.Request, status: int, message: str) -> web.Response:
    titles = {400: "Bad request", 401: "Sign in required", 403: "Forbidden",
              404: "Page not found", 405: "Not allowed", 409: "Conflict",
              413: "Too large", 422: "Cannot do that", 503: "Service unavailable"}
    return render(request, "error.html", status=status,
                  title=titles.get(status, "Something went wrong"), message=message,
                  status_code=status)
