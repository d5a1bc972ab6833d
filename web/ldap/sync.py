"""LDAP group → team sync, periodic half, and the start-up check of the directory settings.

Every syncing team (regular, not opted out) follows the directory group of the same name: its
members' accounts are created if they never signed in (Portus #1295), added with the default role,
and (with `ldap.group_sync.remove_members`) directory users who left the group leave the team.
The login-time half is `PasswordChecker.sync_groups`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar
from uuid import UUID

from domain.errors import DomainError, NameTakenError
from domain.values import TeamKind
from web.ldap.directory import Directory as LdapDirectory
from web.ldap.directory import DirectoryEntry, DirectoryError
from web.services import Services

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")


async def _off_loop(services: Services, fn: Callable[P, T], *args: P.args,
                    **kwargs: P.kwargs) -> T:
    """`fn` in the blocking pool, bounded in time (asyncio.timeout: unlike wait_for on 3.11 it
    never swallows a cancellation)."""
    ldap = services.ldap
    assert ldap is not None
    async with asyncio.timeout(ldap.config.timeout * 4 + 1):
        return await services.pool.run(fn, *args, **kwargs)


async def check_at_start(services: Services) -> str | None:
    """Log a misconfigured or unreachable directory naming the key; start anyway (local users
    keep working, and health reports it). The problem text, or None when all is well."""
    directory = services.ldap
    assert directory is not None
    try:
        await _off_loop(services, directory.check)
    except DirectoryError as e:
        log.error("LDAP: %s", e)
        return str(e)
    except TimeoutError:
        log.error("LDAP: ldap.hostname: %s:%d did not answer", directory.config.hostname,
                  directory.config.port)
        return "did not answer"
    return None


async def directory_health(services: Services) -> tuple[bool, str]:
    directory = services.ldap
    if directory is None:
        return True, "LDAP is disabled"
    try:
        text = await _off_loop(services, directory.check)
    except DirectoryError as e:
        return False, str(e)
    except TimeoutError:
        return False, f"ldap.hostname: {directory.config.hostname} did not answer"
    return True, text


async def sync_all_teams(services: Services) -> int:
    """One pass over every syncing team; the number of teams whose group was found."""
    directory = services.ldap
    assert directory is not None
    config = directory.config
    synced = 0
    for team in list(services.index.teams.values()):
        if team.kind is not TeamKind.REGULAR or team.id in services.accounts.teams_not_syncing:
            continue
        async with asyncio.timeout(config.timeout * 20 + 1):  # one search per member
            members = await services.pool.run(directory.group_members, team.name)
        if members is None:
            continue
        synced += 1
        member_ids = [await _account_for(services, entry) for entry in members]
        ids = [i for i in member_ids if i is not None]
        if _needs_change(services, team.id, ids, remove=config.remove_members):
            await services.execute(functools.partial(
                services.store.sync_team_with_directory_group, team.id, ids,
                role=config.default_role, remove=config.remove_members), actor="ldap")
    return synced


def _needs_change(services: Services, team_id: UUID, ids: list[UUID], *, remove: bool) -> bool:
    team = services.index.teams.get(team_id)
    if team is None:
        return False
    wanted = set(ids)
    for uid in wanted:
        if uid not in team.members:
            return True
        if team.name not in services.accounts.of(uid).directory_groups:
            return True
    for uid, role in team.members.items():
        state = services.accounts.of(uid)
        if uid not in wanted and state.directory_dn and (
                team.name in state.directory_groups or (remove and role.value != "owner")):
            return True
    return False


async def _account_for(services: Services, entry: DirectoryEntry) -> UUID | None:
    """The account of a directory entry, created when it never signed in; None for a name that
    a local account (not from the directory) already holds."""
    user = services.index.user_named(entry.username)
    if user is not None:
        return user.id if services.accounts.of(user.id).directory_dn else None
    try:
        created = await services.execute(lambda: services.store.register_directory_user(
            username=entry.username, email=entry.email, admin=entry.admin, dn=entry.dn),
            actor="ldap")
    except NameTakenError:
        return None
    except DomainError as e:
        log.warning("LDAP sync: cannot create %r: %s", entry.username, e.message)
        return None
    return created.id


async def periodic_group_sync(services: Services) -> None:
    directory = services.ldap
    assert directory is not None
    while True:
        await asyncio.sleep(directory.config.sync_interval)
        try:
            await sync_all_teams(services)
        except (DirectoryError, TimeoutError) as e:
            log.warning("LDAP group sync skipped: %s", e)
        except DomainError as e:
            log.warning("LDAP group sync: %s", e.message)


class DirectoryNameTakenError(DomainError):
    status = 422


async def refuse_directory_username(services: Services, username: str) -> None:
    """Portus: an admin cannot create a local user whose name exists in the directory (the two
    would fight over one name). Fails closed (503) when the directory cannot be asked."""
    if services.ldap is None:
        return
    try:
        await _off_loop(services, refuse_directory_name, services.ldap, username)
    except TimeoutError:
        from web.password_check import DirectoryUnavailableError

        raise DirectoryUnavailableError("LDAP: cannot check the name against the directory:"
                                        " it did not answer in time", field="ldap") from None


def refuse_directory_name(ldap: LdapDirectory, username: str) -> None:
    """Blocking form of `refuse_directory_username`, for the CLI and the pool."""
    from web.password_check import DirectoryUnavailableError

    try:
        entry = ldap.lookup(username)
    except DirectoryError as e:
        raise DirectoryUnavailableError(
            f"LDAP: cannot check the name against the directory: {e}", field="ldap") from None
    if entry is not None:
        raise DirectoryNameTakenError(
            f"The username '{username}' already exists on the LDAP server. Use another name to"
            " avoid name collision", field="ldap")
