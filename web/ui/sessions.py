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


def session_of(request: web.Request) -> tuple[UserRecord, UUID] | None:
    """The enabled user and id of the session the request's cookie names, if it works."""
    services = request.app[SERVICES]
    raw = request.cookies.get(SESSION_COOKIE, "")
    session_id_text, dot, secret = raw.partition(".")
    if not (dot and secret):
        return None
    try:
        session_id = UUID(session_id_text)
    except ValueError:
        return None
    user = services.sessions.user_of(services.index, session_id, secret,
                                     lifetime=SESSION_LIFETIME)
    if user is not None and services.passwords.is_locked(user.id):
        return None  # a locked account is locked in its open sessions too (Portus F9)
    return (user, session_id) if user is not None else None


def resolve(request: web.Request) -> None:
    """Find the visitor's session (if it still works) and what their CSRF tokens bind to."""
    request[_USER] = None
    request[_SESSION] = None
    found = session_of(request)
    if found is not None:
        request[_USER], request[_SESSION] = found
        request[_BINDING] = session_binding(found[1])
        return
    visitor = request.cookies.get(VISITOR_COOKIE, "")
    if not (20 <= len(visitor) <= 64 and visitor.replace("-", "").replace("_", "").isalnum()):
        visitor = secrets.token_urlsafe(24)
        request[_NEW_VISITOR] = visitor
    request[_BINDING] = "visitor|" + visitor


def session_binding(session_id: UUID) -> str:
    return f"session|{session_id}"


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
