"""Reading API requests: JSON bodies with a size cap, fields with types, the API principal."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from domain.errors import DomainError, ForbiddenError, InvalidInputError
from projections.permissions import UserRecord
from web.app_tokens import match_token
from web.appkeys import SERVICES

MAX_JSON_BYTES = 256 * 1024


class AuthenticationFailedError(DomainError):
    status = 401


async def json_object(request: web.Request, wrapper: str | None = None) -> dict[str, Any]:
    """The request's JSON object; with `wrapper`, accept both `{wrapper: {...}}` and flat."""
    if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
        raise InvalidInputError(f"request body is larger than {MAX_JSON_BYTES} bytes")
    raw = await request.content.read(MAX_JSON_BYTES + 1)
    if len(raw) > MAX_JSON_BYTES:
        raise InvalidInputError(f"request body is larger than {MAX_JSON_BYTES} bytes")
    if not raw.strip():
        body: Any = {}
    else:
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise InvalidInputError(
                "There was a problem with the JSON in the request body: it could not be parsed"
            ) from None
    if not isinstance(body, dict):
        raise InvalidInputError("The request body must be a JSON object")
    if wrapper and isinstance(body.get(wrapper), dict):
        inner: dict[str, Any] = body[wrapper]
        return inner
    return body


def text_field(body: dict[str, Any], name: str, *, required: bool = True,
               default: str = "", max_length: int = 1024) -> str:
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidInputError("is missing", field=name)
        return default
    if not isinstance(value, str):
        raise InvalidInputError("must be a string", field=name)
    if len(value) > max_length:
        raise InvalidInputError(f"is too long (maximum is {max_length} characters)", field=name)
    return value


def bool_field(body: dict[str, Any], name: str, *, default: bool = False) -> bool:
    value = body.get(name, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise InvalidInputError("is invalid", field=name)


def api_user(request: web.Request) -> UserRecord:
    """The user of the `Portus-Auth: username:application-token` header.

    Disabled users are refused here too (Portus let their tokens through, portus.md §7.9).
    """
    header = request.headers.get("Portus-Auth")
    if not header:
        raise AuthenticationFailedError("Authentication fails")
    username, colon, token = header.partition(":")
    index = request.app[SERVICES].index
    user = index.user_named(username) if colon else None
    tokens = ((tid, h) for tid, (_, h) in user.tokens.items()) if user else iter(())
    if user is None or match_token(token, tokens) is None or not user.enabled:
        raise AuthenticationFailedError("Authentication fails")
    return user


def api_admin(request: web.Request) -> UserRecord:
    user = api_user(request)
    if not user.admin:
        raise ForbiddenError("Authorization fails")
    return user
