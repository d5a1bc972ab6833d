"""Sign in, sign up (Portus F1, F2) and sign out."""

from __future__ import annotations

from aiohttp import web

from domain.errors import AccountDisabledError, DomainError, InvalidInputError
from web import field_limits as limit
from web.appkeys import SERVICES
from web.authentication import InvalidCredentialsError
from web.password_check import AccountLockedError, DirectoryUnavailableError
from web.passwords import check_new_password, hash_password
from web.ui import sessions
from web.ui.access import local_target
from web.ui.forms import Form, read_form, see_other
from web.ui.rendering import render

routes = web.RouteTableDef()


def _signup_open(request: web.Request) -> bool:
    s = request.app[SERVICES].settings
    return bool(s["signup.enabled"]) and not s["ldap.enabled"]


@routes.get("/sign_in")
async def sign_in_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    if sessions.current_user(request) is not None:
        raise see_other("/")
    if not services.index.users and _signup_open(request):
        raise see_other("/sign_up")  # Portus F1: nobody yet, so the first visitor signs up
    return render(request, "sign_in.html", values={"username": ""}, errors={},
                  next=local_target(request.query.get("next")))


@routes.post("/sign_in")
async def sign_in(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    form = await read_form(request, "username", "password", "next")
    username = form.values["username"].strip()
    status = 401
    try:
        # The one password check of every channel: lockout, LDAP, cache (web.password_check).
        # Application tokens are for clients, not this form; bots never sign in here.
        auth = await services.passwords.authenticate(username, form.values["password"],
                                                     channel="web", tokens=False)
        if auth.user.bot:
            raise InvalidCredentialsError("Invalid username or password.")
    except (InvalidCredentialsError, AccountDisabledError, AccountLockedError) as e:
        message = e.message
        if isinstance(e, InvalidCredentialsError):
            message = "Invalid username or password."
        form.error("base", message)
    except DirectoryUnavailableError as e:
        form.error("base", e.message)
        status = 503
    else:
        response = web.HTTPSeeOther(local_target(form.values["next"]))
        await sessions.sign_in(request, response, auth.user)
        raise response
    return render(request, "sign_in.html", status=status, values={"username": username},
                  errors=form.errors, next=local_target(form.values["next"]))


@routes.post("/sign_out")
async def sign_out(request: web.Request) -> web.StreamResponse:
    response = web.HTTPSeeOther("/sign_in")
    await sessions.sign_out(request, response)
    raise response


@routes.post("/sign_out_everywhere")
async def sign_out_everywhere(request: web.Request) -> web.StreamResponse:
    response = web.HTTPSeeOther("/sign_in")
    await sessions.sign_out(request, response, everywhere=True)
    raise response


def _first_admin(request: web.Request) -> bool:
    """Portus F2, enforced by the server: the sign-up makes an admin only while no enabled
    admin exists and `first_user_admin.enabled` is on (never trusted from the form)."""
    services = request.app[SERVICES]
    return bool(services.settings["first_user_admin.enabled"]) and not any(
        u.admin and u.enabled for u in services.index.users.values())


@routes.get("/sign_up")
async def sign_up_page(request: web.Request) -> web.Response:
    if not _signup_open(request):
        raise see_other("/sign_in")
    if sessions.current_user(request) is not None:
        raise see_other("/")
    return render(request, "sign_up.html", form=Form(values={"username": "", "email": ""}),
                  first_admin=_first_admin(request))


@routes.post("/sign_up")
async def sign_up(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    if not _signup_open(request):
        raise see_other("/sign_in")
    form = await read_form(request, "username", "email", "password", "password_confirmation",
                           limits={"username": limit.USERNAME, "email": limit.EMAIL,
                                   "password": limit.PASSWORD,
                                   "password_confirmation": limit.PASSWORD})
    username, email = form.values["username"].strip(), form.values["email"].strip()
    password = form.values["password"]
    try:
        check_new_password(password)
    except DomainError as e:
        form.error("password", e.message)
    if password != form.values["password_confirmation"]:
        form.error("password_confirmation", "doesn't match Password")
    if form.ok:
        password_hash = await services.pool.run(hash_password, password)
        admin = _first_admin(request)
        try:
            await services.execute(lambda: services.store.register_user(
                username=username, email=email, password_hash=password_hash, admin=admin),
                actor=username)
        except DomainError as e:
            form.fail(e, default_field="username")
    if form.ok:
        user = services.index.user_named(username)
        if user is None:
            raise InvalidInputError("the account could not be read back; sign in")
        response = web.HTTPSeeOther("/admin/registry" if user.admin and
                                    services.index.registry is None else "/")
        await sessions.sign_in(request, response, user)
        raise response
    form.values = {"username": username, "email": email, "password": "",
                   "password_confirmation": ""}  # errors stay under their fields
    return render(request, "sign_up.html", status=422, form=form,
                  first_admin=_first_admin(request))
