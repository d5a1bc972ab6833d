""""Forgot password" pages: ask by email, mail a link, set a new password (Portus F10).

Minimal server-rendered HTML of its own (the console may restyle it). The answer to a request
never says whether an account exists. No link is sent for directory (LDAP) accounts, bots or
disabled accounts, and the whole feature is off when LDAP is on. A reset unlocks the account and,
by moving its credentials version, ends its sessions and refresh tokens.
"""

from __future__ import annotations

import html
import logging
from urllib.parse import urlencode

from aiohttp import web

from domain.errors import DomainError
from projections.permissions import UserRecord
from web.appkeys import CONSOLE, SERVICES
from web.mail import MailError
from web.passwords import check_new_password, hash_password
from web.recovery_links import RecoveryLinkError
from web.services import Services
from web.ui.middleware import CSRF_FIELD
from web.ui.sessions import csrf_binding

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

MAX_FORM_BYTES = 8 * 1024
TOKEN_FIELD = "reset_password_token"  # noqa: S105 - a form field's name (Devise's)


def _csrf(request: web.Request) -> str:
    """The console's CSRF field: its middleware checks every POST to a console path."""
    token = request.app[CONSOLE].csrf_token(csrf_binding(request))
    return f"<input type=hidden name={CSRF_FIELD} value='{html.escape(token, quote=True)}'>"


def _page(title: str, body: str, status: int = 200) -> web.Response:
    text = (f"<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<meta name=viewport content='width=device-width'>"
            f"<title>{html.escape(title)} · Wharfinger</title></head>"
            f"<body><main><h1>{html.escape(title)}</h1>{body}"
            f"<p><a href='/'>Back to Wharfinger</a></p></main></body></html>")
    return web.Response(text=text, status=status, content_type="text/html",
                        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


def _unavailable(services: Services) -> web.Response | None:
    if services.ldap is not None:
        return _page("Password recovery is not available",
                     "<p>Passwords are managed by your organisation's directory (LDAP).</p>", 404)
    if services.mailer is None or services.recovery is None:
        return _page("Password recovery is not available",
                     "<p>This instance cannot send mail (email.smtp is off). Ask an"
                     " administrator.</p>", 404)
    return None


async def _form(request: web.Request) -> dict[str, str]:
    if request.content_length is not None and request.content_length > MAX_FORM_BYTES:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_FORM_BYTES,
                                            actual_size=request.content_length)
    data = await request.post()
    return {k: v for k, v in data.items() if isinstance(v, str)}


@routes.get("/users/password/new")
async def ask(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    return _unavailable(services) or _page("Forgot your password?", (
        f"<form method=post action='/users/password'>{_csrf(request)}"
        "<label>Email <input type=email name=email required maxlength=254></label>"
        "<button>Send me a reset link</button></form>"))


@routes.post("/users/password")
async def send_link(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    unavailable = _unavailable(services)
    if unavailable:
        return unavailable
    form = await _form(request)
    if TOKEN_FIELD in form:
        return await _reset(request, services, form)
    email = form.get("email", "").strip()
    if not email or len(email) > 254:
        return _page("Forgot your password?", "<p>Please give your email address.</p>", 400)
    user = _recoverable(services, email)
    if user is not None:
        try:
            await _mail_link(services, user)
        except MailError as e:
            log.error("password recovery: %s", e)
            return _page("Something went wrong",
                         "<p>The mail could not be sent. Check the email configuration of"
                         " Wharfinger.</p>", 503)
    return _page("Check your mail", (
        "<p>If an account uses that address, a link to choose a new password is on its way."
        " It works once, for a limited time.</p>"))


def _recoverable(services: Services, email: str) -> UserRecord | None:
    lowered = email.lower()
    for user in services.index.users.values():
        if user.email.lower() == lowered:
            if (user.bot or not user.enabled or user.password_hash is None
                    or services.accounts.of(user.id).directory_dn):
                return None
            return user
    return None


async def _mail_link(services: Services, user: UserRecord) -> None:
    assert services.mailer is not None and services.recovery is not None
    token = services.recovery.issue(user.id, user.credentials_version,
                                    services.passwords.clock())
    scheme = "https" if services.settings["check_ssl_usage.enabled"] else "http"
    link = (f"{scheme}://{services.settings.issuer}/users/password/edit?"
            + urlencode({TOKEN_FIELD: token}))
    hours = services.recovery.lifetime / 3600
    message = services.mailer.message(
        user.email, "Reset password instructions",
        f"Hello {user.username},\n\nSomeone asked to reset your Wharfinger password. To choose"
        f" a new one, open this link within {hours:g} hours:\n\n{link}\n\nThe link works once."
        " If you did not ask for this, ignore this mail: your password stays as it is.\n")
    await services.pool.run(services.mailer.send, message)


def _claims_user(services: Services, token: str) -> tuple[UserRecord, int]:
    assert services.recovery is not None
    claims = services.recovery.check(token, services.passwords.clock())
    user = services.index.users.get(claims.user_id)
    if user is None or not user.enabled or user.bot:
        raise RecoveryLinkError("This password reset link is not valid.")
    if user.credentials_version != claims.credentials_version:
        raise RecoveryLinkError("This password reset link has already been used.")
    return user, claims.credentials_version


def _new_password_form(request: web.Request, token: str, error: str = "") -> str:
    note = f"<p role=alert>{html.escape(error)}</p>" if error else ""
    return (f"{note}<form method=post action='/users/password'>{_csrf(request)}"
            f"<input type=hidden name={TOKEN_FIELD} value='{html.escape(token, quote=True)}'>"
            "<label>New password <input type=password name=password required minlength=8"
            " maxlength=128 autocomplete=new-password></label>"
            "<label>Repeat it <input type=password name=password_confirmation required"
            " minlength=8 maxlength=128 autocomplete=new-password></label>"
            "<button>Change my password</button></form>")


@routes.get("/users/password/edit")
async def choose(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    unavailable = _unavailable(services)
    if unavailable:
        return unavailable
    token = request.query.get(TOKEN_FIELD, "")
    try:
        _claims_user(services, token)
    except RecoveryLinkError as e:
        return _refused(str(e))
    return _page("Choose a new password", _new_password_form(request, token))


def _refused(reason: str) -> web.Response:
    return _page("This link cannot be used", (
        f"<p>{html.escape(reason)}</p>"
        "<p><a href='/users/password/new'>Ask for a new link</a></p>"), 400)


async def _reset(request: web.Request, services: Services,
                 form: dict[str, str]) -> web.Response:
    token = form.get(TOKEN_FIELD, "")
    try:
        user, version = _claims_user(services, token)
    except RecoveryLinkError as e:
        return _refused(str(e))
    password = form.get("password", "")
    if password != form.get("password_confirmation", ""):
        return _page("Choose a new password",
                     _new_password_form(request, token, "The two passwords differ."), 400)
    try:
        check_new_password(password)
    except DomainError as e:
        return _page("Choose a new password",
                     _new_password_form(request, token, f"Password {e.message}."), 400)
    password_hash = await services.pool.run(hash_password, password)
    try:
        await services.execute(lambda: services.store.reset_password(
            user.id, password_hash=password_hash, credentials_version=version),
            actor=user.username)
    except DomainError as e:
        return _refused(e.message)
    # The new credentials version already refuses the old sessions; record their end too.
    open_sessions = services.sessions.open_sessions_of(user.id)
    if open_sessions:
        await services.execute(
            lambda: services.store.end_sessions(open_sessions, "password reset"),
            actor=user.username)
    return _page("Your password has been changed",
                 "<p>Sign in with your new password. Other sessions and refresh tokens of"
                 " this account have ended.</p>")
