"""`POST /api/v1/users/bootstrap`: the first admin, with an application token shown once."""

from __future__ import annotations

from aiohttp import web

from domain.errors import NotAllowedError
from web import field_limits as limit
from web.api.requests import json_object, text_field
from web.api.users import no_extra_fields
from web.app_tokens import hash_token, new_token
from web.appkeys import SERVICES
from web.passwords import check_new_password, hash_password

routes = web.RouteTableDef()


@routes.post("/api/v1/users/bootstrap")
async def bootstrap(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    if not services.settings["first_user_admin.enabled"]:
        raise NotAllowedError("this instance has disabled this endpoint")
    body = await json_object(request, "user")
    no_extra_fields(body, {"username", "email", "password"})
    username = text_field(body, "username", max_length=limit.USERNAME)
    email = text_field(body, "email", max_length=limit.EMAIL)
    password = check_new_password(text_field(body, "password", max_length=limit.PASSWORD))
    password_hash = await services.pool.run(hash_password, password)
    token = new_token()
    user, token_id = await services.execute(lambda: services.store.bootstrap_admin(
        username=username, email=email, password_hash=password_hash,
        token_hash=hash_token(token)), actor=username)
    return web.json_response(
        {"id": services.directory.number_of(user.id), "username": user.username,
         "application": "bootstrap", "token_id": services.directory.number_of(token_id),
         "plain_token": token}, status=201)
