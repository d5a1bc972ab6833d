"""Console sessions over HTTP: the session cookie, the visitor's CSRF binding, sign in and out.

The cookie holds `<session id>.<secret>`; the log holds only the secret's hash (domain.sessions).
Cookies are HttpOnly, SameSite=Lax, and Secure when the request came over TLS. Each sign-in starts
a new session with a new id, so a session id planted before sign-in is worthless after it.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from uuid import UUID

from aiohttp import web

from projections.permissions import UserRecord
from projections.sessions import hash_session_secret
from web.appkeys import SERVICES

SESSION_COOKIE = "wharfinger_session"
VISITOR_COOKIE = "wharfinger_visitor"
SESSION_LIFETIME = timedelta(hours=12)

_USER = web.RequestKey[UserRecord | None]("console_user")
_SESSION = web.RequestKey[UUID | None]("console_session")
_BINDING = web.RequestKey("console_csrf_binding", str)
_NEW_VISITOR = web.RequestKey("console_new_visitor", str)


def current_user(request: web.Request) -> UserRecord | None:
    return request.get(_USER)


def current_session(request: web.Request) -> UUID | None:
    return request.get(_SESSION)


def csrf_binding(request: web.Request) -> str:
    # Set by `resolve`; an error raised before it (none can be) still gets a usable page.
    return str(request.get(_BINDING, "visitor|unresolved"))


def resolve(request: web.Request) -> None:
    """Find the visitor's session (if it still works) and what their CSRF tokens bind to."""
    services = request.app[SERVICES]
    request[_USER] = None
    request[_SESSION] = None
    raw = request.cookies.get(SESSION_COOKIE, "")
    session_id_text, dot, secret = raw.partition(".")
    if dot and secret:
        try:
            session_id: UUID | None = UUID(session_id_text)
        except ValueError:
            session_id = None
        if session_id is not None:
            user = services.sessions.user_of(services.index, session_id, secret,
                                             lifetime=SESSION_LIFETIME)
            if user is not None:
                request[_USER], request[_SESSION] = user, session_id
                request[_BINDING] = "session|" + str(session_id)
                return
    visitor = request.cookies.get(VISITOR_COOKIE, "")
    if not (20 <= len(visitor) <= 64 and visitor.replace("-", "").replace("_", "").isalnum()):
        visitor = secrets.token_urlsafe(24)
        request[_NEW_VISITOR] = visitor
    request[_BINDING] = "visitor|" + visitor


def finish(request: web.Request, response: web.StreamResponse) -> None:
    """Set the anonymous visitor's cookie on the way out when this request made one."""
    visitor = request.get(_NEW_VISITOR)
    if visitor is not None and not response.prepared:
        _set_cookie(request, response, VISITOR_COOKIE, visitor, max_age=None)


async def sign_in(request: web.Request, response: web.StreamResponse, user: UserRecord) -> None:
    """Start a new session for `user` and put its cookie on `response`."""
    services = request.app[SERVICES]
    secret = secrets.token_urlsafe(32)
    session_id = await services.execute(
        lambda: services.store.start_session(user.id, hash_session_secret(secret)),
        actor=user.username)
    _set_cookie(request, response, SESSION_COOKIE, f"{session_id}.{secret}",
                max_age=int(SESSION_LIFETIME.total_seconds()))


async def sign_out(request: web.Request, response: web.StreamResponse, *,
                   everywhere: bool = False) -> None:
    services = request.app[SERVICES]
    user, session_id = current_user(request), current_session(request)
    if user is not None and session_id is not None:
        ids = services.sessions.open_sessions_of(user.id) if everywhere else [session_id]
        reason = "signed out everywhere" if everywhere else "signed out"
        await services.execute(lambda: services.store.end_sessions(ids, reason),
                               actor=user.username)
    response.del_cookie(SESSION_COOKIE, path="/")


def _set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str,
                *, max_age: int | None) -> None:
    response.set_cookie(name, value, path="/", max_age=max_age, httponly=True, samesite="Lax",
                        secure=request.secure)
