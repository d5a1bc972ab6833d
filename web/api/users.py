"""`/api/v1/users`: accounts, bots and application tokens (portus.md §1.12, F7, F8, F14, F15).

Fixes Portus §7.10: application tokens are listed, created and revoked only by their owner, or by
an admin for a bot.
"""

from __future__ import annotations

from uuid import UUID

from aiohttp import web

from domain.errors import InvalidInputError, NotFoundError
from domain.management_policy import (
    UnprocessableError,
    may_manage_tokens_of,
    may_toggle_admin,
)
from projections.directory import Kind
from projections.permissions import UserRecord
from web import field_limits as limit
from web.api.pagination import paginated
from web.api.present import find_user, sign_ins_of, token_json, user_body, user_json
from web.api.principal import current_admin, current_user
from web.api.requests import bool_field, json_object, optional_text, text_field
from web.app_tokens import hash_token, new_token
from web.appkeys import SERVICES
from web.ldap.sync import refuse_directory_username
from web.passwords import check_new_password, hash_password
from web.services import Services
from web.user_deletion import delete_account
from web.user_enabling import set_enabled

routes = web.RouteTableDef()

_USER_FIELDS = {"username", "email", "password", "display_name", "bot"}
_UPDATE_FIELDS = {"username", "email", "password", "display_name"}


def no_extra_fields(body: dict[str, object], allowed: set[str]) -> None:
    for name in body:
        if name not in allowed:
            raise InvalidInputError("is not a known field", field=name)


@routes.get("/api/v1/users")
async def list_users(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    current_admin(request)
    users = list(services.index.users.values())
    sign_ins = await sign_ins_of(services, users)
    return paginated(request, [user_json(services, u, sign_ins.get(u.id)) for u in users])


@routes.get("/api/v1/users/{id}")
async def show_user(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    current_admin(request)
    return web.json_response(await user_body(services, find_user(
        services, request.match_info["id"], by_email=True)))


@routes.post("/api/v1/users")
async def create_user(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    admin = current_admin(request)
    body = await json_object(request, "user")
    no_extra_fields(body, _USER_FIELDS)
    username = text_field(body, "username", max_length=limit.USERNAME)
    bot = bool_field(body, "bot")
    display_name = text_field(body, "display_name", required=False,
                              max_length=limit.DISPLAY_NAME)
    await refuse_directory_username(services, username)  # 422 when LDAP has the name
    if bot:
        token = new_token()
        user, _ = await services.execute(lambda: services.store.create_bot(
            username=username, token_hash=hash_token(token)), actor=admin.username)
        record = services.index.users[user.id]
        return web.json_response({**user_json(services, record), "plain_token": token},
                                 status=201)
    email = text_field(body, "email", max_length=limit.EMAIL)
    password = check_new_password(text_field(body, "password", max_length=limit.PASSWORD))
    password_hash = await services.pool.run(hash_password, password)

    def create() -> None:
        user = services.store.register_user(username=username, email=email,
                                            password_hash=password_hash)
        if display_name:
            services.store.update_user(user.id, display_name=display_name)
        created.append(user.id)

    created: list[UUID] = []
    await services.execute(create, actor=admin.username)
    record = services.index.users[created[0]]
    return web.json_response(user_json(services, record), status=201)


@routes.put("/api/v1/users/{id}")
async def update_user(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    admin = current_admin(request)
    user = find_user(services, request.match_info["id"])
    body = await json_object(request, "user")
    no_extra_fields(body, _UPDATE_FIELDS)
    username = text_field(body, "username", required=False, max_length=limit.USERNAME)
    if username and username != user.username:
        raise UnprocessableError(
            "cannot be changed: it is the user's docker login and personal namespace",
            field="username")
    email = optional_text(body, "email", max_length=limit.EMAIL)
    display_name = optional_text(body, "display_name", max_length=limit.DISPLAY_NAME)
    password = optional_text(body, "password", max_length=limit.PASSWORD)
    password_hash = None
    if password is not None:
        password_hash = await services.pool.run(hash_password, check_new_password(password))
    await services.execute(lambda: services.store.update_user(
        user.id, email=email, display_name=display_name, password_hash=password_hash),
        actor=admin.username)
    return web.json_response(await user_body(services, services.index.users[user.id]))


@routes.delete("/api/v1/users/{id}")
async def delete_user(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    admin = current_admin(request)
    user = find_user(services, request.match_info["id"])
    await delete_account(services, admin, user)
    return web.Response(status=204)


@routes.put("/api/v1/users/{id}/toggle_admin")
async def toggle_admin(request: web.Request) -> web.Response:
    """Extension of Portus's admin panel `PUT /admin/users/:id/toggle_admin` (F8)."""
    services = request.app[SERVICES]
    actor = current_user(request)
    user = find_user(services, request.match_info["id"])
    may_toggle_admin(actor.principal(), user.id)
    command = services.store.revoke_admin if user.admin else services.store.grant_admin
    await services.execute(lambda: command(user.id), actor=actor.username)
    return web.json_response(await user_body(services, services.index.users[user.id]))


@routes.put("/api/v1/users/{id}/toggle_auditor")
async def toggle_auditor(request: web.Request) -> web.Response:
    """The auditor role (domain.auditors: reads every record, changes nothing), as the console's
    admin page and `wharfinger auditor grant|revoke` give it; admins only, like toggle_admin."""
    services = request.app[SERVICES]
    actor = current_admin(request)
    user = find_user(services, request.match_info["id"])
    command = services.store.revoke_auditor if user.auditor else services.store.grant_auditor
    await services.execute(lambda: command(user.id), actor=actor.username)
    return web.json_response(await user_body(services, services.index.users[user.id]))


@routes.put("/api/v1/users/{id}/toggle_enabled")
async def toggle_enabled(request: web.Request) -> web.Response:
    """Extension of Portus's `PUT /toggle_enabled/:id` (F7)."""
    services = request.app[SERVICES]
    actor = current_user(request)
    user = find_user(services, request.match_info["id"])
    await set_enabled(services, actor, user, enable=not user.enabled)
    return web.json_response(await user_body(services, services.index.users[user.id]))


# -- application tokens ---------------------------------------------------------------------------


def _token_owner(request: web.Request, services: Services) -> tuple[UserRecord, UserRecord]:
    actor = current_user(request)
    user = find_user(services, request.match_info["id"])
    may_manage_tokens_of(actor.principal(), user.id, target_is_bot=user.bot)
    return actor, user


@routes.get("/api/v1/users/{id}/application_tokens")
async def list_tokens(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    _, user = _token_owner(request, services)
    tokens = [token_json(e) for e in services.directory.entries(Kind.TOKEN)
              if e.parent == user.id]
    return web.json_response(tokens)


@routes.post("/api/v1/users/{id}/application_tokens")
async def create_token(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    actor, user = _token_owner(request, services)
    body = await json_object(request, "application_token")
    no_extra_fields(body, {"application"})
    application = text_field(body, "application", max_length=limit.APPLICATION)
    token = new_token()
    token_id = await services.execute(lambda: services.store.create_application_token(
        user.id, application, hash_token(token)), actor=actor.username)
    entry = services.directory.entry_of(token_id)
    assert entry is not None
    return web.json_response({**token_json(entry), "plain_token": token}, status=201)


@routes.delete("/api/v1/users/application_tokens/{id}")
async def revoke_token(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    actor = current_user(request)
    raw = request.match_info["id"]
    number = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 12 else 0
    entry = services.directory.entry(Kind.TOKEN, number) if number else None
    if entry is None or entry.deleted or entry.parent is None:
        raise NotFoundError("Not found")
    owner = services.index.users.get(entry.parent)
    if owner is None:
        raise NotFoundError("Not found")
    may_manage_tokens_of(actor.principal(), owner.id, target_is_bot=owner.bot)
    await services.execute(lambda: services.store.revoke_application_token(
        owner.id, entry.uuid), actor=actor.username)
    return web.Response(status=204)
