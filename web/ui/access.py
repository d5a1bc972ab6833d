"""Who is asking, for console handlers: the signed-in user, or a redirect to sign in / a 403."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from aiohttp import web

from domain.errors import DomainError
from projections.permissions import PermissionIndex, UserRecord
from web.ui.sessions import current_user


def signed_in(request: web.Request) -> UserRecord:
    user = current_user(request)
    if user is None:
        target = request.path_qs if request.method == "GET" else "/"
        raise web.HTTPSeeOther(f"/sign_in?next={quote(target, safe='/')}")
    return user


def admin(request: web.Request) -> UserRecord:
    user = signed_in(request)
    if not user.admin:
        raise web.HTTPForbidden(text="This page is for administrators.")
    return user


def allowed(check: Callable[..., None], *args: Any, **kwargs: Any) -> bool:
    """A `domain.management_policy` check as a yes/no, for deciding what a page offers. Posts
    call the check itself, so its refusal (403/404/422 with a reason) is what the user sees."""
    try:
        check(*args, **kwargs)
    except DomainError:
        return False
    return True


def forbid() -> web.HTTPForbidden:
    return web.HTTPForbidden(text="You are not allowed to do that.")


def local_target(target: str | None) -> str:
    """Only paths on this site: `//evil.example` and `https://…` are open redirects."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def namespace_as_stored(index: PermissionIndex, typed: str) -> str:
    """The console shows the global namespace as the registry's host (as Portus does); a visitor
    who types that host means the global namespace's stored name."""
    registry, ns = index.registry, index.global_namespace()
    if registry is not None and ns is not None and typed in (
            registry.hostname, registry.external_hostname):
        return ns.name
    return typed
