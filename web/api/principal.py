"""Who is calling the REST API: the one place a request becomes a user.

API v1 authenticates with `Portus-Auth: <username>:<application token>` (portus.md F14), or with
the console's session cookie, so a signed-in browser can call the API (and download exports).
With the cookie, a change (any method but GET/HEAD/OPTIONS) also needs the page's CSRF token in
an `X-CSRF-Token` header: the cookie alone is sent by the browser on any site's behalf.
Disabled users are refused on every channel (Portus let their tokens through, portus.md §7.9).
"""

from __future__ import annotations

from aiohttp import web

from domain.errors import DomainError, ForbiddenError
from domain.policy import Principal
from projections.permissions import UserRecord
from web.app_tokens import match_token
from web.appkeys import CONSOLE, SERVICES
from web.ui.sessions import session_binding, session_of


class AuthenticationFailedError(DomainError):
    status = 401


def optional_user(request: web.Request) -> UserRecord | None:
    """The calling user, None without credentials; bad or disabled credentials are a 401."""
    header = request.headers.get("Portus-Auth")
    if header is None:
        return _session_user(request)
    username, colon, token = header.partition(":")
    index = request.app[SERVICES].index
    user = index.user_named(username) if colon else None
    tokens = ((tid, h) for tid, (_, h) in user.tokens.items()) if user else iter(())
    if user is None or match_token(token, tokens) is None or not user.enabled:
        raise AuthenticationFailedError("Authentication fails")
    if request.app[SERVICES].passwords.is_locked(user.id):
        # A locked account is locked on every channel (Portus F9), its tokens included.
        raise AuthenticationFailedError("Authentication fails: the account is locked")
    return user


def _session_user(request: web.Request) -> UserRecord | None:
    found = session_of(request)
    if found is None:
        return None
    user, session_id = found
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        token = request.headers.get("X-CSRF-Token", "")
        if not request.app[CONSOLE].csrf_ok(session_binding(session_id), token):
            raise ForbiddenError("A request authenticated by the session cookie needs the "
                                 "page's CSRF token in the X-CSRF-Token header")
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
