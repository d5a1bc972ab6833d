"""The console's middleware: who is visiting, CSRF on every post, and HTML error pages.

API and registry paths pass straight through to the JSON error middleware outside this one.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from domain.errors import DomainError
from projections.follower import ProjectionBehindError
from web.appkeys import CONSOLE
from web.ui import sessions
from web.ui.rendering import error_page

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_NOT_CONSOLE = ("/api/", "/v2/", "/v2")
CSRF_FIELD = "_csrf"

_SECURITY_HEADERS = {
    # Our own styles and script only; no inline script can run even if escaping were missed.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none';"
                               " form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def is_console_path(path: str) -> bool:
    return not (path == "/v2" or path.startswith(_NOT_CONSOLE))


@web.middleware
async def console_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not is_console_path(request.path) or _unrouted_non_browser(request):
        return await handler(request)
    try:
        sessions.resolve(request)
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            await _check_csrf(request)
        response = await handler(request)
    except web.HTTPException as e:
        if e.status < 400:
            sessions.finish(request, e)
            _secure(e)
            raise
        response = error_page(request, e.status, _message(e))
    except DomainError as e:
        response = error_page(request, e.status, e.message)
    except ProjectionBehindError:
        response = error_page(request, 503, "The service is catching up; retry shortly.")
        response.headers["Retry-After"] = "1"
    except Exception:
        log.exception("unexpected error handling %s %s", request.method, request.path)
        response = error_page(request, 500, "Something went wrong; nothing was changed.")
    sessions.finish(request, response)
    _secure(response)
    return response


def _unrouted_non_browser(request: web.Request) -> bool:
    """No route matched and the client did not ask for HTML: keep the JSON 404/405 that API
    clients get; browsers (Accept: text/html) get the HTML page."""
    return (request.match_info.http_exception is not None
            and "text/html" not in request.headers.get("Accept", ""))


class CsrfError(DomainError):
    status = 403


async def _check_csrf(request: web.Request) -> None:
    data = await request.post()
    token = data.get(CSRF_FIELD)
    if not isinstance(token, str) or not request.app[CONSOLE].csrf_ok(
            sessions.csrf_binding(request), token):
        raise CsrfError("The form's security token is missing or has expired. Reload the page"
                        " and try again.")


def _secure(response: web.StreamResponse) -> None:
    if response.prepared:
        return
    for name, value in _SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if response.content_type == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")


_DEFAULT_MESSAGES = {
    403: "You are not allowed to do that.",
    404: "There is no such page.",
    405: "That is not allowed here.",
    413: "What you sent is too large.",
}


def _message(e: web.HTTPException) -> str:
    """The text a handler gave the exception, or a plain sentence for aiohttp's own ones."""
    text = e.text or ""
    if not text or text.startswith(f"{e.status}:"):
        return _DEFAULT_MESSAGES.get(e.status, e.reason)
    return text
