"""Reading API requests: JSON bodies with a size cap, fields with types."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from domain.errors import InvalidInputError
from projections.permissions import UserRecord
from web.api.principal import current_admin, current_user

MAX_JSON_BYTES = 256 * 1024


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
    _check_text(body, None)
    if wrapper and isinstance(body.get(wrapper), dict):
        inner: dict[str, Any] = body[wrapper]
        return inner
    return body


def _check_text(value: Any, field: str | None) -> None:
    """Refuse text no store can hold: lone surrogates (invalid UTF-8) anywhere in the body."""
    if isinstance(value, str):
        if any("\ud800" <= ch <= "\udfff" for ch in value):
            raise InvalidInputError("contains invalid Unicode (a lone surrogate)", field=field)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, field or key)
            _check_text(item, field or key)
    elif isinstance(value, list):
        for item in value:
            _check_text(item, field)


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


def optional_text(body: dict[str, Any], name: str, *, max_length: int = 1024) -> str | None:
    """A string field that may be absent (None) or null."""
    if body.get(name) is None:
        return None
    return text_field(body, name, max_length=max_length)


def bool_field(body: dict[str, Any], name: str, *, default: bool = False) -> bool:
    value = body.get(name, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise InvalidInputError("is invalid", field=name)


def api_user(request: web.Request) -> UserRecord:
    """The user of the `Portus-Auth` header (see web.api.principal)."""
    return current_user(request)


def api_admin(request: web.Request) -> UserRecord:
    return current_admin(request)
