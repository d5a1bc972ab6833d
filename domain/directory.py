"""Commands for accounts and teams that follow an LDAP directory (portus.md §1.3).

The directory itself is read by the web layer; these commands record what it saw: a user created
on first bind, the groups a user was seen in, and team memberships that follow those groups.
Removal is limited to members who are directory users and not owners, so a sync can never strip a
team of its last owner or touch a local account.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.command_support import CommandSupport
from domain.errors import NameTakenError
from domain.names import check_username
from domain.teams import Team
from domain.users import User
from domain.values import Role, TeamKind


class DirectoryCommands:
    def register_directory_user(self: CommandSupport, *, username: str, email: str, admin: bool,
                                dn: str) -> User:
        """The user's first successful bind: an account without a local password, linked to its
        directory entry. An email another account already uses is left empty (Portus)."""
        check_username(username)
        email = email.strip() if email and len(email) <= 254 and "@" in email else ""

        def command() -> list[Aggregate]:
            user = User.register(username=username, email=email, password_hash=None,
                                 admin=admin, bot=False)
            claims: list[Aggregate] = []
            if email:
                try:
                    claims.append(self._claim("email", email, user.id))
                except NameTakenError:  # another account uses the address: leave it empty
                    user = User.register(username=username, email="", password_hash=None,
                                         admin=admin, bot=False)
            user.link_directory(dn)
            return [user, self._claim("user", username, user.id), *claims,
                    *self._join_registry(user)]

        user = self._run(command)[0]
        assert isinstance(user, User)
        return user

    def sync_user_directory_groups(self: CommandSupport, user_id: UUID, groups: Collection[str],
                                   candidate_teams: Iterable[UUID], *, role: Role,
                                   remove: bool) -> None:
        """At login: record the groups the directory lists the user in, then make the user a
        member of every syncing team named like one of them and (with `remove`) leave the
        candidate teams that are not. `candidate_teams` are the teams named like a group plus
        the teams the user is in (the caller reads them from a projection)."""
        wanted = frozenset(groups)
        team_ids = list(dict.fromkeys(candidate_teams))

        def command() -> list[Aggregate]:
            user = self._get(User, user_id)
            for group in sorted(wanted | set(user.directory_groups)):
                user.observe_directory_group(group, group in wanted)
            changed: list[Aggregate] = [user]
            for team_id in team_ids:
                team = self._get(Team, team_id)
                if _follow(team, user, team.name in wanted, role=role, remove=remove):
                    changed.append(team)
            return changed

        self._run(command)

    def sync_team_with_directory_group(self: CommandSupport, team_id: UUID,
                                       member_ids: Collection[UUID], *, role: Role,
                                       remove: bool) -> None:
        """The periodic sync of one team: `member_ids` are the accounts of the directory group
        named like the team (created beforehand if they had never logged in, fixing Portus
        #1295). Each account's observation of the group is recorded too."""
        wanted = frozenset(member_ids)

        def command() -> list[Aggregate]:
            team = self._get(Team, team_id)
            if not _syncs(team):
                return []
            changed: list[Aggregate] = []
            users = {uid: self._get(User, uid) for uid in wanted}
            for uid_text in list(team.members):
                uid = UUID(uid_text)
                if uid not in users:
                    users[uid] = self._get(User, uid)
            for uid, user in users.items():
                if not user.directory_dn:
                    continue
                user.observe_directory_group(team.name, uid in wanted)
                _follow(team, user, uid in wanted, role=role, remove=remove)
                changed.append(user)
            return [*changed, team]

        self._run(command)

    def link_directory_user(self: CommandSupport, user_id: UUID, dn: str) -> None:
        self._update(User, user_id, lambda u: u.link_directory(dn))

    def stop_team_directory_sync(self: CommandSupport, team_id: UUID) -> None:
        self._update(Team, team_id, Team.stop_directory_sync)

    def team_named(self: CommandSupport, name: str) -> Team:
        return self._get(Team, self._claimed("team", name, field="team"))


def _syncs(team: Team) -> bool:
    return team.kind is TeamKind.REGULAR and team.directory_sync


def _follow(team: Team, user: User, member: bool, *, role: Role, remove: bool) -> bool:
    """Make `user`'s membership of `team` follow the directory; True when the team changed."""
    if not _syncs(team) or not user.directory_dn:
        return False
    current = team.role_of(user.id)
    if member and current is None:
        team.add_member(user.id, role)
        return True
    if not member and remove and current is not None and current is not Role.OWNER:
        team.remove_member(user.id)
        return True
    return False
