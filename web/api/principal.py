"""Who is calling the REST API: the one place a request becomes a user.

API v1 authenticates with `Portus-Auth: <username>:<application token>` (portus.md F14). The web
session cookie of the UI is to be added here too, so every route keeps asking this module only.
Disabled users are refused on every channel (Portus let their tokens through, portus.md §7.9).
"""

from __future__ import annotations

from aiohttp import web

from domain.errors import DomainError, ForbiddenError
from domain.policy import Principal
from projections.permissions import UserRecord
from web.app_tokens import match_token
from web.appkeys import SERVICES


class AuthenticationFailedError(DomainError):
    status = 401


def optional_user(request: web.Request) -> UserRecord | None:
    """The calling user, None without credentials; bad or disabled credentials are a 401."""
    header = request.headers.get("Portus-Auth")
    if header is None:
        return None
    username, colon, token = header.partition(":")
    index = request.app[SERVICES].index
    user = index.user_named(username) if colon else None
    tokens = ((tid, h) for tid, (_, h) in user.tokens.items()) if user else iter(())
    if user is None or match_token(token, tokens) is None or not user.enabled:
        raise AuthenticationFailedError("Authentication fails")
    return user


def current_user(request: web.Request) -> UserRecord:
    user = optional_user(request)
    if user is None:
        raise AuthenticationFailedError("Authentication fails")
    return user


def current_admin(request: web.Request) -> UserRecord:
    user = current_user(request)
    if not user.admin:
        raise ForbiddenError("Authorization fails")
    return user


def principal_of(user: UserRecord) -> Principal:
    return user.principal()
