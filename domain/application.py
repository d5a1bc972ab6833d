"""The write application: every command Wharfinger accepts, each one `save()` (one transaction).

The eventsourcing `Application` is the service layer and `save(*aggregates)` the unit of work: a
command either records all of its events or none. Unique names are claimed in the same save, so a
duplicate fails on the store's key; any other key conflict means a concurrent writer changed the
same aggregate, and the command is re-run on fresh state.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, TypeVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Recording
from eventsourcing.utils import get_topic

from domain.access_rules import ACCESS_RULES_ID, AccessRulesRecord
from domain.accounts import AccountCommands
from domain.auditors import AuditorCommands
from domain.directory import DirectoryCommands
from domain.errors import (
    ConflictError,
    DomainError,
    InvalidInputError,
    NameTakenError,
    NotFoundError,
)
from domain.management import ManagementCommands
from domain.names import (
    NameClaim,
    check_email,
    check_username,
    claim_id,
    namespace_name_from_username,
)
from domain.namespaces import Namespace
from domain.registries import (
    ADMINS_TEAM_ID,
    ADMINS_TEAM_NAME,
    GLOBAL_NAMESPACE_NAME,
    REGISTRY_ID,
    Registry,
)
from domain.repositories import RepositoryCommands
from domain.sessions import SessionCommands
from domain.social import SocialCommands
from domain.teams import Team
from domain.users import User
from domain.values import AccessRules, NamespaceKind, Role, TeamKind, Visibility

T = TypeVar("T")

BOOTSTRAP_ID = uuid5(NAMESPACE_URL, "https://wharfinger.dev/ids/bootstrap")
_MAX_ATTEMPTS = 5


class Bootstrap(Aggregate):
    """Claimed by the first admin's bootstrap, so two racing bootstraps cannot both succeed."""

    class Claimed(Aggregate.Created):
        pass

    @classmethod
    def claim(cls) -> Bootstrap:
        return cls._create(cls.Claimed, id=BOOTSTRAP_ID)


class _Collected(ProcessingEvent[UUID]):
    """The library's `ProcessingEvent`, telling aggregates from events by their class first.

    The library asks `isinstance(obj, DomainEventProtocol)` and then `CollectEventsProtocol` of
    every object saved: runtime-checkable protocols, which Python 3.11 checks by walking every
    attribute of the protocol on each call (4% of the server's CPU under registry intake, where a
    batch saves dozens of aggregates). Our aggregates are all `Aggregate`s, a plain class check;
    anything else goes the library's way."""

    def collect_events(self, *objs: Any, **kwargs: Any) -> None:
        for obj in objs:
            if isinstance(obj, Aggregate):
                self.events.extend(obj.collect_events())
                self.aggregates[obj.id] = obj
            elif obj is not None:
                super().collect_events(obj)
        self.saved_kwargs.update(kwargs)


class Wharfinger(ManagementCommands, AuditorCommands, SessionCommands, SocialCommands,
                 RepositoryCommands, AccountCommands, DirectoryCommands,
                 Application[UUID]):
    name = "wharfinger"
    env: ClassVar[dict[str, str]] = {"AGGREGATE_CACHE_MAXSIZE": "10000"}
    """The library's aggregate cache: a command loads an aggregate it loaded before as a copy
    brought up to date with the events stored since (one read, `fastforward`, so other nodes'
    writes are seen), not by replaying its whole history. Some aggregates grow with the
    registry: a namespace records every repository that starts or stops holding tags, and
    without the cache every push that creates a repository replayed all of them (intake fell
    from about 1,600 to 500 events/s within 20 seconds of one namespace's pushes)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._saved = threading.local()

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[Any]]:
        # The library's save, but collecting through _Collected (its steps, in its order).
        processing_event = _Collected()
        processing_event.collect_events(*objs, **kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        self.notify(processing_event.events)  # the library's deprecated hook, still called
        if recordings:
            self._saved.position = recordings[-1].notification.id
        return recordings

    def run_command(self, command: Callable[[], T]) -> tuple[T, int]:
        """Run `command` in this thread; return its result and the log position of the last
        event it recorded (0 if none), so the caller can wait for projections to reach it."""
        self._saved.position = 0
        result = command()
        return result, self._saved.position

    # -- users -------------------------------------------------------------------------------

    def register_user(
        self,
        *,
        username: str,
        email: str,
        password_hash: str | None,
        admin: bool = False,
        bot: bool = False,
    ) -> User:
        """Register a user; with a registry, a non-bot user gets a personal namespace at once."""
        check_username(username)
        email = check_email(email, required=not bot)

        def command() -> list[Aggregate]:
            user = User.register(username=username, email=email, password_hash=password_hash,
                                 admin=admin, bot=bot)
            aggregates: list[Aggregate] = [user, self._claim("user", username, user.id)]
            if email:
                aggregates.append(self._claim("email", email, user.id))
            return [*aggregates, *self._join_registry(user)]

        saved = self._run(command)
        user = saved[0]
        assert isinstance(user, User)
        return user

    def bootstrap_admin(self, *, username: str, email: str, password_hash: str | None,
                        token_hash: str, application: str = "bootstrap") -> tuple[User, UUID]:
        """Portus's `POST /api/v1/users/bootstrap`: the first admin, only while nobody exists."""
        if self.has_users():
            raise InvalidInputError(
                "you can only use this when there are no users on the system")
        check_username(username)
        email = check_email(email, required=True)
        user = User.register(username=username, email=email, password_hash=password_hash,
                             admin=True, bot=False)
        token_id = user.create_application_token(application, token_hash)
        aggregates: list[Aggregate] = [
            user, Bootstrap.claim(), NameClaim.claim("user", username, user.id),
            NameClaim.claim("email", email, user.id), *self._join_registry(user)]
        try:
            self._save_claiming(aggregates)
        except ConflictError as e:
            raise InvalidInputError(
                "you can only use this when there are no users on the system") from e
        return user, token_id

    def _join_registry(self, user: User) -> list[Aggregate]:
        """What a new user gets once the registry exists (nothing before: registering it
        catches up): a personal namespace unless a bot, and an admin owns the admins team."""
        if REGISTRY_ID not in self.repository:
            return []
        aggregates = [] if user.bot else _personal_namespace(user, self._claim)
        if user.admin:
            admins = self._get(Team, ADMINS_TEAM_ID)
            admins.add_member(user.id, Role.OWNER)
            aggregates.append(admins)
        return aggregates

    def has_users(self) -> bool:
        topic = get_topic(User.Registered)
        return bool(self.recorder.select_notifications(start=None, limit=1, topics=[topic]))

    def user_ids(self) -> Iterator[UUID]:
        topic = get_topic(User.Registered)
        start: int | None = None
        while True:
            page = self.recorder.select_notifications(start=start, limit=500, topics=[topic],
                                                      inclusive_of_start=False)
            if not page:
                return
            for notification in page:
                yield UUID(str(notification.originator_id))
            start = page[-1].id

    def user_named(self, username: str) -> User:
        return self._get(User, self._claimed("user", username, field="username"))

    def get_user(self, user_id: UUID) -> User:
        return self._get(User, user_id)

    def change_password(self, user_id: UUID, password_hash: str) -> None:
        self._update(User, user_id, lambda u: u.change_password(password_hash))

    def disable_user(self, user_id: UUID) -> None:
        self.set_user_enabled(user_id, False)

    def enable_user(self, user_id: UUID) -> None:
        self.set_user_enabled(user_id, True)

    def grant_admin(self, user_id: UUID) -> None:
        """Make a user an admin: owner of the admins team and, in the same save, owner of every
        team they are already in (F21: admins are owners of their teams and never demoted).
        Each promotion is a `MemberRoleChanged` with cause `admin_granted`."""

        def command() -> list[Aggregate]:
            user = self._get(User, user_id)
            user.grant_admin()
            aggregates: list[Aggregate] = [user]
            if REGISTRY_ID in self.repository:
                admins = self._get(Team, ADMINS_TEAM_ID)
                if admins.role_of(user_id) is None:
                    admins.add_member(user_id, Role.OWNER)
                    aggregates.append(admins)
            # Also for an existing admin: one made admin before this rule repairs on a re-grant.
            return [*aggregates, *self._promotions(user_id, self._teams_joined_by(user_id))]

        self._run(command)
        # A team the user joined while this was saved (its command read the user before the
        # grant) was not in the scan; scan again now that the grant is stored. A join after
        # this scan reads the grant itself (add_team_member re-checks after its save).
        self._run(lambda: self._promotions(user_id, self._teams_joined_by(user_id)))

    def _promotions(self, user_id: UUID, team_ids: list[UUID]) -> list[Aggregate]:
        """The teams among `team_ids` where the admin `user_id` is a member below owner, each
        with the role change recorded (cause `admin_granted`)."""
        promoted: list[Aggregate] = []
        for team_id in team_ids:
            team = self._get(Team, team_id)
            role = team.role_of(user_id)
            if not team.deleted and role is not None and role is not Role.OWNER:
                team.change_role(user_id, Role.OWNER, cause="admin_granted")
                promoted.append(team)
        return promoted

    def _teams_joined_by(self, user_id: UUID) -> list[UUID]:
        """Every team the user was ever added to (they may have left since), in log order."""
        topic = get_topic(Team.MemberAdded)
        teams: dict[UUID, None] = {}
        start: int | None = None
        while True:
            page = self.recorder.select_notifications(start=start, limit=500, topics=[topic],
                                                      inclusive_of_start=False)
            if not page:
                return list(teams)
            for notification in page:
                event = self.mapper.to_domain_event(notification)
                if isinstance(event, Team.MemberAdded) and event.user_id == user_id:
                    teams[event.originator_id] = None
            start = page[-1].id

    def revoke_admin(self, user_id: UUID) -> None:
        def command() -> list[Aggregate]:
            guard = self._admin_guard()
            user = self._get(User, user_id)
            aggregates: list[Aggregate] = [user]
            if user.admin and user.enabled and not user.deleted:
                self._refuse_if_last_enabled_admin(
                    user_id, "Cannot revoke the admin flag of the last enabled admin",
                    field="admin")
                guard.admin_revoked(user_id)
                aggregates.append(guard)
            user.revoke_admin()
            if REGISTRY_ID in self.repository:
                admins = self._get(Team, ADMINS_TEAM_ID)
                if admins.role_of(user_id) is not None:
                    admins.remove_member(user_id)
                    aggregates.append(admins)
            return aggregates

        self._run(command)

    def create_application_token(self, user_id: UUID, application: str,
                                 token_hash: str) -> UUID:
        created: list[UUID] = []

        def command() -> list[Aggregate]:
            user = self._get(User, user_id)
            created[:] = [user.create_application_token(application, token_hash)]
            return [user]

        self._run(command)
        return created[0]

    def revoke_application_token(self, user_id: UUID, token_id: UUID) -> None:
        self._update(User, user_id, lambda u: u.revoke_application_token(token_id))

    # -- teams and namespaces -----------------------------------------------------------------

    def create_team(self, *, name: str, owner_id: UUID, description: str = "") -> Team:
        from domain.names import check_namespace_name  # team names follow the same rules

        check_namespace_name(name)

        def command() -> list[Aggregate]:
            self._get(User, owner_id)
            team = Team.create(name=name, kind=TeamKind.REGULAR, description=description)
            team.add_member(owner_id, Role.OWNER)
            return [team, self._claim("team", name, team.id)]

        team = self._run(command)[0]
        assert isinstance(team, Team)
        return team

    def get_team(self, team_id: UUID) -> Team:
        return self._get(Team, team_id)

    def add_member(self, team_id: UUID, user_id: UUID, role: Role) -> None:
        def command() -> list[Aggregate]:
            self._get(User, user_id)
            team = self._get(Team, team_id)
            team.add_member(user_id, role)
            return [team]

        self._run(command)

    def change_member_role(self, team_id: UUID, user_id: UUID, role: Role) -> None:
        self._update(Team, team_id, lambda t: t.change_role(user_id, role))

    def remove_member(self, team_id: UUID, user_id: UUID) -> None:
        self._update(Team, team_id, lambda t: t.remove_member(user_id))

    def create_namespace(self, *, name: str, team_id: UUID, description: str = "",
                         visibility: Visibility = Visibility.PRIVATE,
                         origin: str = "api") -> Namespace:
        from domain.names import check_namespace_name

        check_namespace_name(name)
        if REGISTRY_ID not in self.repository:
            raise InvalidInputError("Register the registry before creating namespaces",
                                    field="registry")

        def command() -> list[Aggregate]:
            team = self._get(Team, team_id)
            if team.deleted:
                raise NotFoundError("team not found", field="team")
            ns = Namespace.create(name=name, kind=NamespaceKind.TEAM, team_id=team.id,
                                  visibility=visibility, description=description, origin=origin)
            return [ns, self._claim("namespace", name, ns.id)]

        ns = self._run(command)[0]
        assert isinstance(ns, Namespace)
        return ns

    def get_namespace(self, namespace_id: UUID) -> Namespace:
        return self._get(Namespace, namespace_id)

    def change_visibility(self, namespace_id: UUID, visibility: Visibility) -> None:
        self._update(Namespace, namespace_id, lambda ns: ns.change_visibility(visibility))

    def move_namespace(self, namespace_id: UUID, team_id: UUID) -> None:
        def command() -> list[Aggregate]:
            self._get(Team, team_id)
            ns = self._get(Namespace, namespace_id)
            ns.move_to_team(team_id)
            return [ns]

        self._run(command)

    # -- registry and rules -------------------------------------------------------------------

    def register_registry(self, *, name: str, hostname: str, external_hostname: str = "",
                          use_ssl: bool = False) -> Registry:
        """Register the registry; this creates the global namespace and personal namespaces."""
        if not name.strip():
            raise InvalidInputError("can't be blank", field="name")
        if not hostname.strip() or any(c.isspace() for c in hostname):
            raise InvalidInputError("is invalid", field="hostname")
        if REGISTRY_ID in self.repository:
            raise InvalidInputError("You can only create one registry", field="registry")
        registry = Registry.register(name=name.strip(), hostname=hostname.strip(),
                                     external_hostname=external_hostname.strip(),
                                     use_ssl=use_ssl)
        admins = Team.create(name=ADMINS_TEAM_NAME, kind=TeamKind.ADMINS, team_id=ADMINS_TEAM_ID)
        global_ns = Namespace.create(
            name=GLOBAL_NAMESPACE_NAME, kind=NamespaceKind.GLOBAL, team_id=admins.id,
            visibility=Visibility.PUBLIC, description="The global namespace of the registry.")
        aggregates: list[Aggregate] = [
            registry, admins, global_ns,
            NameClaim.claim("namespace", GLOBAL_NAMESPACE_NAME, global_ns.id)]
        for user_id in list(self.user_ids()):
            user = self._get(User, user_id)
            if user.admin:
                admins.add_member(user.id, Role.OWNER)
            if not user.bot:
                aggregates.extend(_personal_namespace(user, self._claim))
        try:
            self._save_claiming(aggregates)
        except ConflictError as e:
            raise InvalidInputError("You can only create one registry", field="registry") from e
        return registry

    def get_registry(self) -> Registry | None:
        try:
            return self._get(Registry, REGISTRY_ID)
        except NotFoundError:
            return None

    def record_access_rules(self, rules: AccessRules) -> bool:
        """Record the access rules in force if they differ from the last ones recorded."""

        def command() -> list[Aggregate]:
            try:
                record = self._get(AccessRulesRecord, ACCESS_RULES_ID)
            except NotFoundError:
                return [AccessRulesRecord.record(rules)]
            record.change(rules)
            return [record]

        return bool(self._run(command, return_recordings=True))

    # -- the unit of work -----------------------------------------------------------------------

    def _find_claim(self, kind: str, name: str) -> NameClaim | None:
        """The claim on `name`, held or released; None if the name was never claimed."""
        return self._find(NameClaim, claim_id(kind, name))

    def _claimed(self, kind: str, name: str, *, field: str) -> UUID:
        """The id of what holds `name` now; NotFound, naming `field`, if nothing does."""
        claim = self._find_claim(kind, name)
        if claim is None or claim.owner_id is None:
            raise NotFoundError(f"{kind} '{name}' not found", field=field)
        return claim.owner_id

    def _claim(self, kind: str, name: str, owner_id: UUID) -> NameClaim:
        """A claim on `name` for `owner_id`: new, or a released one taken again (names of
        deleted users, teams and namespaces are free). A claim held by another is NameTaken;
        two racing reclaims conflict on the store's key and the loser re-runs into NameTaken."""
        claim = self._find_claim(kind, name)
        if claim is None:
            return NameClaim.claim(kind, name, owner_id)
        if claim.owner_id is not None and claim.owner_id != owner_id:
            raise NameTakenError("has already been taken", field=_claim_field(kind))
        if claim.owner_id is None:
            claim.reclaim(name, owner_id)
        return claim

    def _release(self, kind: str, name: str, owner_id: UUID) -> list[Aggregate]:
        """Release `owner_id`'s claim on `name` (nothing if it holds none)."""
        claim = self._find_claim(kind, name)
        if claim is None or claim.owner_id != owner_id:
            return []
        claim.release()
        return [claim]

    def _find(self, cls: type[T], aggregate_id: UUID) -> T | None:
        """The aggregate, or None if there is none (one read; `id in repository` then `get`
        would read it twice)."""
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, cls) else None

    def _get(self, cls: type[T], aggregate_id: UUID) -> T:
        found = self._find(cls, aggregate_id)
        if found is None:
            raise NotFoundError(f"{cls.__name__.lower()} not found", field=cls.__name__.lower())
        return found

    def _update(self, cls: type[T], aggregate_id: UUID, change: Callable[[T], Any]) -> None:
        def command() -> list[Aggregate]:
            aggregate = self._get(cls, aggregate_id)
            change(aggregate)
            assert isinstance(aggregate, Aggregate)
            return [aggregate]

        self._run(command)

    def _run(self, command: Callable[[], list[Aggregate]], *,
             return_recordings: bool = False) -> list[Any]:
        """Run a command and save its aggregates, re-running it on a concurrent-writer conflict."""
        for attempt in range(_MAX_ATTEMPTS):
            aggregates = command()
            try:
                recordings = self._save_claiming(aggregates)
            except ConflictError:
                if attempt == _MAX_ATTEMPTS - 1:
                    raise
                continue
            return list(recordings) if return_recordings else aggregates
        raise AssertionError("unreachable")

    def _save_claiming(self, aggregates: list[Aggregate]) -> list[Recording[Any]]:
        """Save in one transaction; a name already claimed is NameTakenError, other key
        conflicts are ConflictError (the caller may re-run the command)."""
        try:
            return self.save(*aggregates)
        except IntegrityError:
            for aggregate in aggregates:
                if isinstance(aggregate, NameClaim) and aggregate.version == 1 and (
                        aggregate.id in self.repository):
                    raise NameTakenError("has already been taken",
                                         field=_claim_field(aggregate.kind)) from None
            raise ConflictError("Another change was made at the same time; try again") from None


def _claim_field(kind: str) -> str:
    return {"user": "username", "namespace": "name", "team": "name"}.get(kind, kind)


def _personal_namespace(user: User, claim: Callable[[str, str, UUID], NameClaim]
                        ) -> list[Aggregate]:
    """Portus F4: a hidden personal team owned by the user and a private namespace named after
    the user. The personal team claims no name: hidden teams are never addressed by name."""
    ns_name = namespace_name_from_username(user.username)
    if ns_name is None:  # check_username guarantees a name; kept for users registered earlier
        raise DomainError(f"'{user.username}' cannot be transformed into a valid namespace name",
                          field="username")
    team = Team.create(name=user.username, kind=TeamKind.PERSONAL)
    team.add_member(user.id, Role.OWNER)
    ns = Namespace.create(name=ns_name, kind=NamespaceKind.PERSONAL, team_id=team.id,
                          visibility=Visibility.PRIVATE,
                          description=f"This personal namespace belongs to {user.username}.")
    return [team, ns, claim("namespace", ns_name, ns.id)]
