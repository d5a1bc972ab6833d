"""The admin panel: users (create, bots, edit, unlock, admin flag, enable/disable, delete) and the
registry (F7, F8, F9, F15, F17, F35). Every handler checks `admin` itself (or, where the API
lets the policy decide, the same policy); the menu only hides the links."""

from __future__ import annotations

from aiohttp import web

from domain.errors import DomainError, NotFoundError
from domain.management_policy import may_toggle_admin
from domain.names import check_email
from domain.values import Role, TeamKind
from projections.permissions import UserRecord
from web import field_limits as limit
from web.api.present import personal_namespace
from web.app_tokens import hash_token, new_token
from web.appkeys import SERVICES
from web.passwords import check_new_password, hash_password
from web.registry_update import change_registry
from web.ui.access import admin, signed_in
from web.ui.forms import Form, read_form, see_other
from web.ui.rendering import render
from web.user_deletion import delete_account
from web.user_enabling import set_enabled

routes = web.RouteTableDef()

REGISTRY_LIMITS = {"name": limit.REGISTRY_NAME, "hostname": limit.REGISTRY_HOSTNAME,
                   "external_hostname": limit.REGISTRY_HOSTNAME}


def _users_page(request: web.Request, form: Form, *, status: int = 200,
                bot_token: tuple[str, str] | None = None) -> web.Response:
    index = request.app[SERVICES].index
    users = sorted(index.users.values(), key=lambda u: u.username.lower())
    deleted = request.query.get("deleted", "")[:128] if request.method == "GET" else ""
    passwords = request.app[SERVICES].passwords
    locked = {u.id for u in users if passwords.is_locked(u.id)}
    return render(request, "admin_users.html", status=status, users=users, form=form,
                  bot_token=bot_token, deleted=deleted, locked=locked)


@routes.get("/admin/users")
async def users_page(request: web.Request) -> web.Response:
    admin(request)
    return _users_page(request, Form(values={"username": "", "email": "", "kind": "user"}))


@routes.post("/admin/users")
async def create_user(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    me = admin(request)
    form = await read_form(request, "username", "email", "password", "kind", limits={
        "username": limit.USERNAME, "email": limit.EMAIL, "password": limit.PASSWORD})
    username, email = form.values["username"].strip(), form.values["email"].strip()
    bot = form.values["kind"] == "bot"
    password_hash: str | None = None
    if not bot:
        try:
            password_hash = await services.pool.run(hash_password,
                                                    check_new_password(form.values["password"]))
        except DomainError as e:
            form.fail(e)
    token = new_token() if bot else None
    if form.ok:
        def command() -> object:
            if token is not None:  # Portus F15: a bot gets a `default` token, shown once
                return services.store.create_bot(username=username, token_hash=hash_token(token))
            return services.store.register_user(username=username, email=email,
                                                password_hash=password_hash)

        try:
            await services.execute(command, actor=me.username)
        except DomainError as e:
            form.fail(e, default_field="username")
    if not form.ok:  # the password is never written back (the field macro omits its value)
        return _users_page(request, form, status=422)
    if token is not None:
        return _users_page(request, Form(values={"username": "", "email": "", "kind": "bot"}),
                           status=201, bot_token=(username, token))
    raise see_other("/admin/users")


def _target(request: web.Request) -> UserRecord:
    user = request.app[SERVICES].index.user_named(request.match_info["username"])
    if user is None:
        raise NotFoundError("There is no such user.")
    return user


@routes.post("/admin/users/{username}/admin")
async def toggle_admin(request: web.Request) -> web.StreamResponse:
    """Portus F8: an admin cannot toggle themselves. The policy decides who may, as for
    `PUT /api/v1/users/:id/toggle_admin`, so a refusal reads the same on both."""
    services = request.app[SERVICES]
    me = signed_in(request)
    target = _target(request)
    may_toggle_admin(me.principal(), target.id)
    store = services.store
    change = store.revoke_admin if target.admin else store.grant_admin
    target_id = target.id
    await services.execute(lambda: change(target_id), actor=me.username)
    raise see_other("/admin/users")


@routes.post("/admin/users/{username}/enabled")
async def toggle_enabled(request: web.Request) -> web.StreamResponse:
    """Portus F7: admins disable and enable others; never the last enabled admin. The policy
    decides, as for `PUT /api/v1/users/:id/toggle_enabled`."""
    me = signed_in(request)
    target = _target(request)
    await set_enabled(request.app[SERVICES], me, target, enable=not target.enabled)
    raise see_other("/sign_in" if target.id == me.id else "/admin/users")


def _registry_page(request: web.Request, form: Form | None = None, *,
                   status: int = 200) -> web.Response:
    """The registration form, or once registered the same fields to edit, filled in."""
    services = request.app[SERVICES]
    registry = services.index.registry
    if form is None:
        form = Form(values={"name": "", "hostname": "", "external_hostname": "", "use_ssl": ""})
        if registry is not None:
            form = Form(values={"name": registry.name, "hostname": registry.hostname,
                                "external_hostname": registry.external_hostname or "",
                                "use_ssl": "on" if registry.use_ssl else ""})
    return render(request, "admin_registry.html", status=status, form=form,
                  has_repositories=any(services.catalog.listed()),
                  saved=request.method == "GET" and "saved" in request.query)


@routes.get("/admin/registry")
async def registry_page(request: web.Request) -> web.Response:
    admin(request)
    return _registry_page(request)


@routes.post("/admin/registry")
async def register_registry(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    me = admin(request)
    form = await read_form(request, "name", "hostname", "external_hostname", "use_ssl",
                           limits=REGISTRY_LIMITS)
    v = form.values
    if not form.ok:  # a field over its limit is refused whole, never saved cut short
        return _registry_page(request, form, status=422)
    try:
        await services.execute(lambda: services.store.register_registry(
            name=v["name"], hostname=v["hostname"], external_hostname=v["external_hostname"],
            use_ssl=v["use_ssl"] == "on"), actor=me.username)
    except DomainError as e:
        form.fail(e, default_field="name")
        return _registry_page(request, form, status=e.status)
    raise see_other("/")


@routes.post("/admin/registry/settings")
async def update_registry(request: web.Request) -> web.StreamResponse:
    """Portus F17: name, hostname, TLS and external hostname; the hostname is fixed once the
    registry holds repositories (refused exactly as `PUT /api/v1/registries/:id`)."""
    services = request.app[SERVICES]
    me = admin(request)
    if services.index.registry is None:
        raise NotFoundError("No registry is registered yet.")
    form = await read_form(request, "name", "hostname", "external_hostname", "use_ssl",
                           limits=REGISTRY_LIMITS)
    v = form.values
    if form.ok:
        try:
            await change_registry(services, me, name=v["name"], hostname=v["hostname"],
                                  external_hostname=v["external_hostname"],
                                  use_ssl=v["use_ssl"] == "on")
        except DomainError as e:
            form.fail(e, default_field="name")
    if not form.ok:
        return _registry_page(request, form, status=422)
    raise see_other("/admin/registry?saved=1")


@routes.post("/admin/users/{username}/auditor")
async def toggle_auditor(request: web.Request) -> web.StreamResponse:
    """The auditor role (domain.auditors): reads every record, changes nothing. Admins grant it,
    as `wharfinger` on the command line does."""
    services = request.app[SERVICES]
    me = admin(request)
    target = _target(request)
    store = services.store
    change = store.revoke_auditor if target.auditor else store.grant_auditor
    target_id = target.id
    await services.execute(lambda: change(target_id), actor=me.username)
    raise see_other("/admin/users")


def _delete_page(request: web.Request, target: UserRecord, form: Form, *,
                 status: int = 200) -> web.Response:
    """What deleting `target` does (the teams they leave, their personal namespace) and what
    stands in the way, so the page does not offer a delete the command would refuse."""
    services = request.app[SERVICES]
    teams = sorted((t for t in services.index.teams.values()
                    if target.id in t.members and t.kind is not TeamKind.PERSONAL),
                   key=lambda t: t.name)
    sole_owner = [t for t in teams if t.members[target.id] is Role.OWNER
                  and not any(r is Role.OWNER for u, r in t.members.items() if u != target.id)]
    ns = personal_namespace(services, target)
    held = sorted(r.full_name for r in services.catalog.listed()
                  if ns is not None and r.namespace_id == ns.id)
    return render(request, "admin_user_delete.html", status=status, target=target,
                  teams=teams, personal=ns.name if ns else "", sole_owner=sole_owner,
                  held=held, form=form)


@routes.get("/admin/users/{username}/delete")
async def confirm_delete(request: web.Request) -> web.Response:
    """The confirmation step: what will go, before anything does."""
    me = admin(request)
    target = _target(request)
    form = Form()
    if target.id == me.id:
        form.error("base", "You cannot delete yourself.")
    return _delete_page(request, target, form, status=403 if target.id == me.id else 200)


@routes.post("/admin/users/{username}/delete")
async def delete_user(request: web.Request) -> web.StreamResponse:
    """Delete an account through the same call as `DELETE /api/v1/users/:id`."""
    services = request.app[SERVICES]
    me = admin(request)
    target = _target(request)
    form = await read_form(request, "confirm")
    if form.values["confirm"] != target.username:
        form.error("confirm", "must be the user's name")
        return _delete_page(request, target, form, status=422)
    try:
        await delete_account(services, me, target)
    except DomainError as e:
        form.error("base", e.message)  # yourself, or a team's only owner: not a field's fault
        return _delete_page(request, target, form, status=e.status)
    raise see_other(f"/admin/users?deleted={target.username}")


def _edit_page(request: web.Request, target: UserRecord, form: Form | None = None, *,
               status: int = 200) -> web.Response:
    if form is None:
        form = Form(values={"email": target.email or "", "display_name": target.display_name or ""})
    return render(request, "admin_user_edit.html", status=status, target=target, form=form,
                  locked=request.app[SERVICES].passwords.is_locked(target.id),
                  saved=request.method == "GET" and "saved" in request.query)


@routes.get("/admin/users/{username}/edit")
async def edit_page(request: web.Request) -> web.Response:
    admin(request)
    return _edit_page(request, _target(request))


@routes.post("/admin/users/{username}/edit")
async def edit_user(request: web.Request) -> web.StreamResponse:
    """Email, display name and a new password, as `PUT /api/v1/users/:id` (the username never
    changes: it is the docker login and the personal namespace). A blank password keeps it."""
    services = request.app[SERVICES]
    me = admin(request)
    target = _target(request)
    form = await read_form(request, "email", "display_name", "password", limits={
        "email": limit.EMAIL, "display_name": limit.DISPLAY_NAME, "password": limit.PASSWORD})
    v = form.values
    password_hash: str | None = None
    try:  # checked here too, so a bad email and a bad password are both named at once
        check_email(v["email"].strip(), required=not target.bot)
    except DomainError as e:
        form.fail(e, default_field="email")
    if v["password"] and "password" not in form.errors:
        try:
            password_hash = await services.pool.run(hash_password,
                                                    check_new_password(v["password"]))
        except DomainError as e:
            form.fail(e, default_field="password")
    if form.ok:
        target_id, new_hash = target.id, password_hash
        try:
            await services.execute(lambda: services.store.update_user(
                target_id, email=v["email"].strip(), display_name=v["display_name"].strip(),
                password_hash=new_hash), actor=me.username)
        except DomainError as e:
            form.fail(e, default_field="email")
    if not form.ok:
        return _edit_page(request, target, form, status=422)
    raise see_other(f"/admin/users/{target.username}/edit?saved=1")


@routes.post("/admin/users/{username}/unlock")
async def unlock(request: web.Request) -> web.StreamResponse:
    """End a lockout at once, as `POST /api/v1/users/:id/unlock`."""
    services = request.app[SERVICES]
    me = admin(request)
    target_id = _target(request).id
    await services.execute(lambda: services.store.unlock_user(target_id, reason="admin"),
                           actor=me.username)
    raise see_other(f"/admin/users/{request.match_info['username']}/edit?saved=1")
