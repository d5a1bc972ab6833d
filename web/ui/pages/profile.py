"""The profile: display name, password change, application tokens shown once (F6, F14)."""

from __future__ import annotations

from uuid import UUID

from aiohttp import web

from domain.errors import DomainError, NotFoundError
from projections.permissions import UserRecord
from web import field_limits as limit
from web.app_tokens import hash_token, new_token
from web.appkeys import SERVICES
from web.passwords import check_new_password, hash_password, verify_password
from web.ui import sessions
from web.ui.access import signed_in
from web.ui.forms import Form, read_form, see_other
from web.ui.rendering import render

routes = web.RouteTableDef()


def _page(request: web.Request, user: UserRecord, *, status: int = 200,
          password_form: Form | None = None, token_form: Form | None = None,
          profile_form: Form | None = None,
          new_token_shown: tuple[str, str] | None = None) -> web.Response:
    tokens = sorted(((tid, app) for tid, (app, _) in user.tokens.items()), key=lambda t: t[1])
    return render(request, "profile.html", status=status, me=user, tokens=tokens,
                  password_form=password_form or Form(),
                  token_form=token_form or Form(values={"application": ""}),
                  new_token=new_token_shown,
                  profile_form=profile_form or Form(values={
                      "email": user.email, "display_name": user.display_name or ""}))


@routes.get("/profile")
async def profile(request: web.Request) -> web.Response:
    return _page(request, signed_in(request))


@routes.post("/profile")
async def update_profile(request: web.Request) -> web.StreamResponse:
    """Email and display name (Portus F5, F6); the same command as `PUT /api/v1/users/{id}`."""
    services = request.app[SERVICES]
    user = signed_in(request)
    form = await read_form(request, "email", "display_name", limits={
        "email": limit.EMAIL, "display_name": limit.DISPLAY_NAME})
    if not form.ok:  # a field over its limit is refused whole, never saved cut short
        return _page(request, user, status=422, profile_form=form)
    email, display_name = form.values["email"].strip(), form.values["display_name"].strip()
    user_id = user.id
    try:
        await services.execute(lambda: services.store.update_user(
            user_id, email=email, display_name=display_name), actor=user.username)
    except DomainError as e:
        form.fail(e, default_field="email")
        return _page(request, user, status=e.status, profile_form=form)
    raise see_other("/profile")


@routes.post("/profile/password")
async def change_password(request: web.Request) -> web.StreamResponse:
    """Needs the current password and a matching confirmation (Portus F6). Changing it ends
    every session (the credentials version moves), so this one starts afresh."""
    services = request.app[SERVICES]
    user = signed_in(request)
    form = await read_form(request, "current_password", "password", "password_confirmation")
    ok = await services.pool.run(verify_password, user.password_hash,
                                 form.values["current_password"])
    if not ok:
        form.error("current_password", "is invalid")
    try:
        check_new_password(form.values["password"])
    except DomainError as e:
        form.fail(e)
    if form.values["password"] != form.values["password_confirmation"]:
        form.error("password_confirmation", "doesn't match Password")
    new_password = form.values["password"]
    form.values = dict.fromkeys(form.values, "")  # never echo passwords back
    if not form.ok:
        return _page(request, user, status=422, password_form=form)
    password_hash = await services.pool.run(hash_password, new_password)
    user_id = user.id
    await services.execute(lambda: services.store.change_password(user_id, password_hash),
                           actor=user.username)
    response = web.HTTPSeeOther("/profile")
    fresh = services.index.users[user.id]
    await sessions.sign_in(request, response, fresh)
    raise response


@routes.post("/profile/tokens")
async def create_token(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    user = signed_in(request)
    form = await read_form(request, "application",
                           limits={"application": limit.APPLICATION})
    if not form.ok:
        return _page(request, user, status=422, token_form=form)
    application = form.values["application"].strip()
    token = new_token()
    user_id = user.id
    try:
        await services.execute(lambda: services.store.create_application_token(
            user_id, application, hash_token(token)), actor=user.username)
    except DomainError as e:
        form.fail(e, default_field="application")
        return _page(request, user, status=e.status, token_form=form)
    # Shown once, in this response only: the log keeps its hash.
    return _page(request, services.index.users[user.id], status=201,
                 new_token_shown=(application, token))


@routes.post("/profile/tokens/{token_id}/revoke")
async def revoke_token(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    user = signed_in(request)
    try:
        token_id = UUID(request.match_info["token_id"])
    except ValueError:
        raise NotFoundError("There is no such token.") from None
    if token_id not in user.tokens:
        raise NotFoundError("There is no such token.")
    user_id = user.id
    await services.execute(lambda: services.store.revoke_application_token(user_id, token_id),
                           actor=user.username)
    raise see_other("/profile")
