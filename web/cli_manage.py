"""Admin commands of the `wharfinger` CLI: users, bots, teams, members, namespaces (Portus's rake
tasks and more). They run the same application commands as the REST API, acting as `cli`, and
print a line of text or, with `--json`, the API's JSON shapes."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from domain.actors import CLI as CLI_ACTOR
from domain.actors import acting_as
from domain.application import Wharfinger
from domain.errors import NotFoundError
from domain.names import namespace_name_from_username
from domain.values import NamespaceKind, Role, TeamKind, Visibility
from eventstore.reader import read_after
from projections.directory import Directory, Kind
from projections.permissions import PermissionIndex
from web import account_cli
from web.app_tokens import hash_token, new_token
from web.ldap.config import LdapConfig
from web.ldap.directory import Directory as LdapDirectory
from web.ldap.sync import refuse_directory_name
from web.passwords import check_new_password, hash_password
from web.services import opened_event_log
from web.settings import Settings

Handler = Callable[[argparse.Namespace, Settings], int]


def register(sub: Any) -> None:
    """Add `user`, `team` and `namespace` command groups to the top-level subparsers."""
    user = sub.add_parser("user", help="manage users and bots")
    users = user.add_subparsers(required=True, metavar="ACTION")
    create = _command(users, "create", "create a user", _user_create)
    create.add_argument("--username", required=True)
    create.add_argument("--email", required=True)
    create.add_argument("--admin", action="store_true", help="make the user an admin")
    create.add_argument("--password-stdin", action="store_true",
                        help="read the password from standard input (else: no password, "
                             "application tokens or LDAP only)")
    bot = _command(users, "create-bot", "create a bot and print its token once", _user_bot)
    bot.add_argument("--username", required=True)
    for name, helptext, handler in (
            ("make-admin", "grant admin rights", _make_admin),
            ("revoke-admin", "revoke admin rights", _revoke_admin),
            ("disable", "disable an account", _disable),
            ("enable", "re-enable an account", _enable)):
        _command(users, name, helptext, handler).add_argument("username")
    _command(users, "list", "list users", _user_list)
    account_cli.register(users)  # unlock (issue 7)

    team = sub.add_parser("team", help="manage teams and members")
    teams = team.add_subparsers(required=True, metavar="ACTION")
    create = _command(teams, "create", "create a team", _team_create)
    create.add_argument("--name", required=True)
    create.add_argument("--owner", required=True, metavar="USERNAME")
    create.add_argument("--description", default="")
    member = _command(teams, "add-member", "add a member to a team", _add_member)
    member.add_argument("team")
    member.add_argument("username")
    member.add_argument("--role", choices=[r.value for r in Role], default=Role.VIEWER.value)
    _command(teams, "list", "list teams", _team_list)

    namespace = sub.add_parser("namespace", help="manage namespaces")
    namespaces = namespace.add_subparsers(required=True, metavar="ACTION")
    create = _command(namespaces, "create", "create a namespace in a team", _ns_create)
    create.add_argument("--name", required=True)
    create.add_argument("--team", required=True)
    create.add_argument("--description", default="")
    create.add_argument("--visibility", choices=[v.value for v in Visibility],
                        default=Visibility.PRIVATE.value)
    visibility = _command(namespaces, "set-visibility", "change a namespace's visibility",
                          _ns_visibility)
    visibility.add_argument("name")
    visibility.add_argument("visibility", choices=[v.value for v in Visibility])
    _command(namespaces, "list", "list namespaces", _ns_list)


def _command(group: Any, name: str, helptext: str, handler: Handler) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = group.add_parser(name, help=helptext)
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser.set_defaults(func=handler)
    return parser


class _Session:
    """The store plus read models folded from it, for look-ups by name and integer ids."""

    def __init__(self, store: Wharfinger) -> None:
        self.store = store
        self.index = PermissionIndex()
        self.directory = Directory()
        self.refresh()

    def refresh(self) -> None:
        while True:
            batch = read_after(self.store, self.index.position, 1000)
            for logged in batch:
                self.index.apply(logged)
                self.directory.apply(logged)
            if len(batch) < 1000:
                return

    def user(self, username: str) -> Any:
        user = self.index.user_named(username)
        if user is None:
            raise NotFoundError(f"user '{username}' not found", field="username")
        return user

    def team(self, name: str) -> Any:
        entry = self.directory.named(Kind.TEAM, name)
        team = self.index.teams.get(entry.uuid) if entry else None
        if team is None or team.kind is not TeamKind.REGULAR:
            raise NotFoundError(f"unknown team '{name}'", field="team")
        return team

    def namespace(self, name: str) -> Any:
        ns = self.index.namespace_named(name)
        if ns is None:
            raise NotFoundError(f"namespace '{name}' not found", field="name")
        return ns

    def number(self, uuid: Any) -> int | None:
        return self.directory.number_of(uuid)

    def user_json(self, user: Any) -> dict[str, Any]:
        name = namespace_name_from_username(user.username)
        ns = self.index.namespace_named(name) if name else None
        personal = ns is not None and ns.kind is NamespaceKind.PERSONAL and (
            self.index.role_of(user.id, ns.team_id) is Role.OWNER)
        return {"id": self.number(user.id), "username": user.username, "email": user.email,
                "admin": user.admin, "enabled": user.enabled, "bot": user.bot,
                "namespace_id": self.number(ns.id) if personal and ns else None}

    def team_json(self, team: Any) -> dict[str, Any]:
        members = {}
        for user_id, role in team.members.items():
            user = self.index.users.get(user_id)
            if user is not None:
                members[user.username] = role.value
        return {"id": self.number(team.id), "name": team.name, "members": members}

    def namespace_json(self, ns: Any) -> dict[str, Any]:
        team = self.index.teams.get(ns.team_id)
        return {"id": self.number(ns.id), "name": ns.name, "visibility": ns.visibility.value,
                "global": ns.kind is NamespaceKind.GLOBAL,
                "team": team.name if team else None}


@contextmanager
def _session(settings: Settings) -> Iterator[_Session]:
    with opened_event_log(settings) as store, acting_as(CLI_ACTOR):
        yield _Session(store)


def _out(args: argparse.Namespace, data: Any, text: str) -> int:
    print(json.dumps(data, indent=2) if args.json else text)
    return 0


# -- users ----------------------------------------------------------------------------------------


def _user_create(args: argparse.Namespace, settings: Settings) -> int:
    password_hash = None
    if args.password_stdin:
        password_hash = hash_password(check_new_password(sys.stdin.readline().rstrip("\r\n")))
    ldap = LdapConfig.from_settings(settings)
    if ldap is not None:  # as the API does (Portus): no local user named like a directory one
        refuse_directory_name(LdapDirectory(ldap), args.username)
    with _session(settings) as s:
        user = s.store.register_user(username=args.username, email=args.email,
                                     password_hash=password_hash, admin=args.admin)
        s.refresh()
        record = s.index.users[user.id]
        return _out(args, s.user_json(record), f"Created user {record.username}"
                    f"{' (admin)' if record.admin else ''}.")


def _user_bot(args: argparse.Namespace, settings: Settings) -> int:
    token = new_token()
    with _session(settings) as s:
        user, _ = s.store.create_bot(username=args.username, token_hash=hash_token(token))
        s.refresh()
        data = {**s.user_json(s.index.users[user.id]), "plain_token": token}
        return _out(args, data, f"Created bot {user.username}. Its token (shown once):\n"
                                f"  {token}")


def _user_change(args: argparse.Namespace, settings: Settings,
                 change: Callable[[Wharfinger, Any], None], done: str) -> int:
    with _session(settings) as s:
        user = s.user(args.username)
        change(s.store, user.id)
        s.refresh()
        return _out(args, s.user_json(s.index.users[user.id]), f"{user.username}: {done}.")


def _make_admin(args: argparse.Namespace, settings: Settings) -> int:
    return _user_change(args, settings, Wharfinger.grant_admin, "is an admin")


def _revoke_admin(args: argparse.Namespace, settings: Settings) -> int:
    return _user_change(args, settings, Wharfinger.revoke_admin, "is no longer an admin")


def _disable(args: argparse.Namespace, settings: Settings) -> int:
    return _user_change(args, settings, lambda store, uid: store.set_user_enabled(uid, False),
                        "disabled")


def _enable(args: argparse.Namespace, settings: Settings) -> int:
    return _user_change(args, settings, lambda store, uid: store.set_user_enabled(uid, True),
                        "enabled")


def _user_list(args: argparse.Namespace, settings: Settings) -> int:
    with _session(settings) as s:
        rows = sorted((s.user_json(u) for u in s.index.users.values()), key=lambda r: r["id"])
        text = "\n".join(
            f"{r['id']:>5}  {r['username']:<24} {r['email']:<32} "
            f"{'admin ' if r['admin'] else ''}{'bot ' if r['bot'] else ''}"
            f"{'' if r['enabled'] else 'disabled'}".rstrip() for r in rows)
        return _out(args, rows, text or "No users.")


# -- teams ----------------------------------------------------------------------------------------


def _team_create(args: argparse.Namespace, settings: Settings) -> int:
    with _session(settings) as s:
        owner = s.user(args.owner)
        team = s.store.create_team(name=args.name, owner_id=owner.id,
                                   description=args.description)
        s.refresh()
        return _out(args, s.team_json(s.index.teams[team.id]),
                    f"Created team {team.name}, owned by {owner.username}.")


def _add_member(args: argparse.Namespace, settings: Settings) -> int:
    with _session(settings) as s:
        team, user = s.team(args.team), s.user(args.username)
        role = s.store.add_team_member(team.id, user.id, Role(args.role))
        s.refresh()
        return _out(args, s.team_json(s.index.teams[team.id]),
                    f"{user.username} is now {role.value} of {team.name}.")


def _team_list(args: argparse.Namespace, settings: Settings) -> int:
    with _session(settings) as s:
        rows = sorted((s.team_json(t) for t in s.index.teams.values()
                       if t.kind is TeamKind.REGULAR), key=lambda r: r["id"])
        text = "\n".join(f"{r['id']:>5}  {r['name']:<24} " + ", ".join(
            f"{u} ({role})" for u, role in sorted(r["members"].items())) for r in rows)
        return _out(args, rows, text or "No teams.")


# -- namespaces -----------------------------------------------------------------------------------


def _ns_create(args: argparse.Namespace, settings: Settings) -> int:
    with _session(settings) as s:
        team = s.team(args.team)
        ns = s.store.create_namespace(name=args.name, team_id=team.id,
                                      description=args.description,
                                      visibility=Visibility(args.visibility))
        s.refresh()
        return _out(args, s.namespace_json(s.index.namespaces[ns.id]),
                    f"Created {ns.visibility.value} namespace {ns.name} in team {team.name}.")


def _ns_visibility(args: argparse.Namespace, settings: Settings) -> int:
    with _session(settings) as s:
        ns = s.namespace(args.name)
        s.store.change_visibility(ns.id, Visibility(args.visibility))
        s.refresh()
        return _out(args, s.namespace_json(s.index.namespaces[ns.id]),
                    f"Namespace {ns.name} is now {args.visibility}.")


def _ns_list(args: argparse.Namespace, settings: Settings) -> int:
    with _session(settings) as s:
        rows = sorted((s.namespace_json(n) for n in s.index.namespaces.values()),
                      key=lambda r: r["id"])
        text = "\n".join(f"{r['id']:>5}  {r['name']:<32} {r['visibility']:<10} {r['team']}"
                         for r in rows)
        return _out(args, rows, text or "No namespaces.")
