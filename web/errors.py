"""One place where refusals become HTTP: JSON bodies that name what is wrong, never a traceback.

Domain errors carry their status; aiohttp's own HTTP errors (unknown route, wrong method, body too
large) are re-rendered as JSON. Anything unexpected is logged and answered 500 without details.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from domain.errors import DomainError
from projections.follower import ProjectionBehindError

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_body(message: str, *, field: str | None = None, code: str | None = None
               ) -> dict[str, object]:
    """Portus's `{"message": …}` (a string, or `{field: [text]}` for a field's error), plus the
    Distribution-style `errors` list Docker clients print."""
    text = f"{field} {message}" if field else message
    body: dict[str, object] = {"message": {field: [message]} if field else message}
    if field:
        body["field"] = field  # the offending input, for clients that do not parse `message`
    body["errors"] = [{"code": code or "ERROR", "message": text}]
    return body


_CODES = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "DENIED", 404: "NOT_FOUND",
          405: "UNSUPPORTED", 409: "CONFLICT", 413: "TOO_LARGE", 422: "INVALID",
          503: "UNAVAILABLE"}


def json_error(status: int, message: str, *, field: str | None = None,
               headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(error_body(message, field=field, code=_CODES.get(status)),
                             status=status, headers=headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except DomainError as e:
        return json_error(e.status, e.message, field=e.field)
    except ProjectionBehindError as e:
        return json_error(503, e.message, headers={"Retry-After": "2"})
    except web.HTTPException as e:
        if e.status < 400:
            raise
        message = e.reason if e.status != 404 else "Not found"
        return json_error(e.status, message, headers=_kept_headers(e))
    except Exception:
        log.exception("unexpected error handling %s %s", request.method, request.path)
        return json_error(500, "Internal error; the request was not applied")


def _kept_headers(e: web.HTTPException) -> dict[str, str]:
    return {k: v for k, v in e.headers.items() if k in ("Allow", "WWW-Authenticate", "Retry-After")}
