"""The composition root: the running service's parts, opened and closed in one place."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from eventsourcing.utils import get_topic

from domain import decisions as decision_records
from domain.actors import acting_as
from domain.application import Wharfinger
from domain.audit_trail import AuditTrail
from domain.decisions import TokenRequestDecided
from domain.errors import InvalidInputError
from domain.management_policy import Switches
from domain.repositories import BlobMounted, ManifestPulled
from eventstore.append import ROWS_PER_STATEMENT
from eventstore.fact_rows import FactRows
from eventstore.location import StoreLocation
from eventstore.open import OPEN_ERRORS, open_error_text, open_log
from eventstore.reader import LoggedEvent, read_after
from projections.accounts import AccountIndex
from projections.activity.projector import ActivityProjector
from projections.activity.runner import FeedRunner
from projections.activity.store import ActivityStore, open_activity_store
from projections.directory import Directory
from projections.fold import Fold, fan_out
from projections.follower import LogFollower
from projections.permissions import PermissionIndex
from projections.repositories import RepositoryCatalog
from projections.sessions import SessionIndex
from projections.social import Social
from web.audit_tools import AuditTools, audit_tools
from web.blocking import BlockingPool
from web.checkpoint_key import fold_checkpoint_key, load_or_create_signer
from web.credential_cache import VerifiedCredentials
from web.group_commit import GroupCommit
from web.ldap.config import LdapConfig
from web.ldap.directory import Directory as LdapDirectory
from web.mail import Mailer
from web.notice_intake import NoticeIntake
from web.recovery_links import RecoveryLinks
from web.registry_sync import background_sync
from web.sealer_process import SealerProcess
from web.secret_files import load_or_create_secret
from web.settings import Settings
from web.token.keys import SigningKey, load_or_create_signing_key
from web.token.memo import DecisionMemo
from web.token.refresh import RefreshTokens
from web.token.signed_records import Decision, record_and_sign

if TYPE_CHECKING:
    from web.password_check import PasswordChecker

log = logging.getLogger(__name__)

SEAL_AT_SHUTDOWN_SECONDS = 3.0
T = TypeVar("T")

EVENTS_LOG = "events"
AUDIT_TOPICS = (get_topic(ManifestPulled), get_topic(BlobMounted))
"""The audit-trail facts an in-memory read model needs; token decisions are skipped."""
AUDIT_LOG = "audit"


@dataclass
class Services:
    settings: Settings
    pool: BlockingPool
    store: Wharfinger
    audit: AuditTrail
    """The second log, for high-volume facts (domain.audit_trail)."""
    index: PermissionIndex
    follower: LogFollower
    signing_key: SigningKey
    refresh_tokens: RefreshTokens
    notification_secret: str
    audit_tools: AuditTools
    """Time travel and tamper evidence over both logs (issue 5)."""
    activity: ActivityStore
    """The activity feed's tables (projections.activity)."""
    feed: FeedRunner | None
    """The in-process feed projector; None when `wharfinger project` runs it."""
    decisions: GroupCommit[Decision, Decision]
    """Decision records (rows built by `decision_rows`), group-committed to the audit trail by
    a writer thread of their own, which then signs the batch's tokens (web.token.signed_records):
    a commit never queues behind argon2 or feed work, and only that one thread competes with the
    event loop for the GIL while it writes."""
    decision_rows: FactRows[TokenRequestDecided]
    """Builds a decision record's stored row (eventstore.fact_rows)."""
    decision_memo: DecisionMemo
    """Token decisions memoized until the projection moves (web.token.memo)."""
    directory: Directory = field(default_factory=Directory)
    """Integer API ids and names of users, teams, namespaces (projections.directory)."""
    sessions: SessionIndex = field(default_factory=SessionIndex)
    """Open console sessions (projections.sessions)."""
    social: Social = field(default_factory=Social)
    """Stars and comments on repositories (projections.social)."""
    catalog: RepositoryCatalog = field(default_factory=RepositoryCatalog)
    """Repositories and tags (projections.repositories), fed by both logs."""
    audit_follower: LogFollower | None = None
    """Follows the audit trail for the facts read models need (pulls, from every node)."""
    # Authentication breadth (issue 7): lockout state, the verified-credential cache, LDAP.
    accounts: AccountIndex = field(default_factory=AccountIndex)
    credentials: VerifiedCredentials = field(default_factory=lambda: VerifiedCredentials(0))
    ldap: LdapDirectory | None = None
    mailer: Mailer | None = None
    recovery: RecoveryLinks | None = None
    passwords: PasswordChecker = field(init=False)
    intake: NoticeIntake = field(init=False)
    """Registry notifications, group-committed (web.notice_intake)."""

    def __post_init__(self) -> None:
        from web.password_check import PasswordChecker

        self.passwords = PasswordChecker(self)
        self.intake = NoticeIntake(
            self.pool, self.store, self.audit,
            record_pulls=bool(self.settings["registry.record_pulls.enabled"]),
            known=lambda name: self.catalog.by_full_name(name) is not None)

    async def execute(self, command: Callable[[], T], *, actor: str | None = None) -> T:
        """Run a command in the pool and return once this node's projection reflects it."""

        def run() -> tuple[T, int]:
            if actor is None:
                return self.store.run_command(command)
            with acting_as(actor):
                return self.store.run_command(command)

        result, position = await self.pool.run(run)
        if position:
            self.follower.nudge()
            await self.follower.wait_for(position)
        return result


def _unchanged(decision: Decision) -> Decision:
    return decision  # decision records arrive as rows already (eventstore.fact_rows)


def management_switches(settings: Settings) -> Switches:
    """The `user_permission.*` switches and access rules of the configuration."""
    return Switches(
        change_visibility=bool(settings["user_permission.change_visibility.enabled"]),
        create_team=bool(settings["user_permission.create_team.enabled"]),
        manage_team=bool(settings["user_permission.manage_team.enabled"]),
        create_namespace=bool(settings["user_permission.create_namespace.enabled"]),
        manage_namespace=bool(settings["user_permission.manage_namespace.enabled"]),
        rules=settings.access_rules)


def store_location(settings: Settings) -> StoreLocation:
    return StoreLocation.from_settings(settings.data_dir, settings.database_url)


def signing_key_of(settings: Settings) -> SigningKey:
    """The token signing key in the node's keys directory, created on first use."""
    return load_or_create_signing_key(settings.keys_dir,
                                      algorithm=str(settings["token.signing_algorithm"]),
                                      common_name=settings.issuer)


@contextlib.contextmanager
def explaining_open_errors(location: StoreLocation, what: str,
                           log_name: str | None = None) -> Iterator[None]:
    """A store that cannot be opened (the data directory, a database file, PostgreSQL
    unreachable or refusing: eventstore.open.OPEN_ERRORS) becomes a one-line error naming
    what and where: the command line prints it and exits 1, as for any InvalidInputError."""
    try:
        yield
    except OPEN_ERRORS as e:
        raise InvalidInputError(open_error_text(location, what, e, log_name)) from None


@contextlib.contextmanager
def opened_event_log(settings: Settings) -> Iterator[Wharfinger]:
    """The event log for a command run outside the server, closed afterwards; a store that
    cannot be opened is a one-line error naming the data directory, not a traceback."""
    location = store_location(settings)
    with explaining_open_errors(location, "the event store", EVENTS_LOG):
        store = open_log(location, Wharfinger, EVENTS_LOG)
    try:
        yield store
    finally:
        store.close()


def feed_runner(settings: Settings, activity: ActivityStore, store: Wharfinger,
                audit: AuditTrail) -> FeedRunner:
    projector = ActivityProjector(activity, {EVENTS_LOG: store, AUDIT_LOG: audit})
    return FeedRunner(projector,
                      interval=int(settings["projections.activity.interval_ms"]) / 1000,
                      duty_cycle=min(100, int(settings["projections.activity.duty_cycle_percent"]))
                      / 100)


async def _seal_at_shutdown(pool: BlockingPool, tools: AuditTools) -> None:
    """Sign a last checkpoint of each log, so what was appended since the last periodic one
    is sealed when the node stops (an auditor's `audit verify` then has nothing unanchored).
    Bounded: a long unsealed tail (a busy token endpoint) is sealed for SEAL_AT_SHUTDOWN_SECONDS
    and the rest left to the next node's rounds, so a stop stays within an orchestrator's grace
    period (pool work cannot be cancelled, only given a deadline)."""
    try:
        await pool.run(tools.make_checkpoints, time.monotonic() + SEAL_AT_SHUTDOWN_SECONDS)
    except Exception as e:  # the store is down: the next node's first round seals it
        log.warning("cannot sign the audit checkpoints at shutdown: %s: %s",
                    type(e).__name__, e)


@contextlib.asynccontextmanager
async def running_services(settings: Settings) -> AsyncIterator[Services]:
    """Open the store, load keys, catch the projection up and follow the log until closed."""
    pool = BlockingPool(max_workers=8)
    location = store_location(settings)
    store: Wharfinger | None = None
    audit: AuditTrail | None = None
    activity: ActivityStore | None = None
    feed: FeedRunner | None = None
    writer = BlockingPool(max_workers=1, name="audit-writer")
    tools: AuditTools | None = None
    tasks: list[asyncio.Task[None]] = []
    try:
        with explaining_open_errors(location, "the event store", EVENTS_LOG):
            store = await pool.run(open_log, location, Wharfinger, EVENTS_LOG)
        with explaining_open_errors(location, "the audit trail", AUDIT_LOG):
            audit = await pool.run(open_log, location, AuditTrail, AUDIT_LOG)
        await pool.run(store.record_access_rules, settings.access_rules)
        await pool.run(store.record_switches, management_switches(settings))
        keys_dir = settings.keys_dir
        signing_key = await pool.run(signing_key_of, settings)
        refresh_key = await pool.run(load_or_create_secret, keys_dir / "refresh-token.secret")
        notification_secret = await pool.run(load_or_create_secret,
                                              keys_dir / "notification.secret")
        index = PermissionIndex()
        directory = Directory()
        accounts = AccountIndex()
        credentials = VerifiedCredentials(float(settings["credential_cache.ttl_seconds"]))
        ldap_config = LdapConfig.from_settings(settings)
        ldap = LdapDirectory(ldap_config) if ldap_config else None
        # Every in-memory read model this node serves; one follower keeps them all current.
        catalog = RepositoryCatalog()
        sessions, social = SessionIndex(), Social()
        folds: list[Fold] = [index, directory, sessions, social, catalog, accounts,
                             credentials]
        opened = store
        opened_audit = audit

        async def read(position: int, limit: int) -> list[LoggedEvent]:
            return await pool.run(read_after, opened, position, limit, follower=True)

        follower = LogFollower(
            read, fan_out(folds),
            poll_interval=0.1 if location.postgres is None else 1.0,
            max_staleness=float(settings["token.max_staleness_seconds"]))
        await follower.catch_up()
        tasks.append(asyncio.create_task(follower.run(), name="follow-log"))

        async def read_audit(position: int, limit: int) -> list[LoggedEvent]:
            return await pool.run(read_after, opened_audit, position, limit, AUDIT_TOPICS,
                                  follower=True)

        audit_follower = LogFollower(
            read_audit, catalog.apply_audit,
            poll_interval=0.5 if location.postgres is None else 2.0,
            max_staleness=float(settings["token.max_staleness_seconds"]))
        # The webhook applies the pulls it records at once; this follower brings in those
        # recorded by other nodes.
        await audit_follower.catch_up()
        tasks.append(asyncio.create_task(audit_follower.run(), name="follow-audit"))
        if location.postgres is not None:
            from eventstore.listen import listen_for_appends

            tasks.append(asyncio.create_task(
                listen_for_appends(location.postgres, store, follower.nudge),
                name="listen-for-appends"))
        signer = await pool.run(load_or_create_signer, keys_dir, settings.issuer)
        tools = audit_tools(location, store, audit,
                            every=int(settings["audit.fold_checkpoint_interval"]),
                            signer=signer, issuer=settings.issuer,
                            fold_key=await pool.run(fold_checkpoint_key, keys_dir),
                            keep_connections=2)
        tasks.append(asyncio.create_task(tools.keep_current(pool, 5.0), name="audit-tools"))
        tools.sealer = SealerProcess(settings)
        tasks.append(asyncio.create_task(tools.keep_signing(
            pool, float(settings["audit.checkpoint_interval_seconds"]),
            offload_after=int(settings["audit.sealer_process_after_ms"]) / 1000),
            name="audit-sign"))
        with explaining_open_errors(location, "the activity feed", "activity"):
            activity = await pool.run(open_activity_store, location)
        if settings["projections.run_in_process"]:
            feed = feed_runner(settings, activity, store, audit)
            tasks.append(asyncio.create_task(feed.run(), name="activity-feed"))
        lifetime = int(settings["token.refresh_token_lifetime_days"]) * 86400
        tasks.append(asyncio.create_task(background_sync(
            store, pool, signing_key, settings, on_change=follower.nudge), name="registry-sync"))
        recovery_key = await pool.run(load_or_create_secret, keys_dir / "recovery.secret")
        recovery = RecoveryLinks(recovery_key.encode(),
                                 int(settings["password_recovery.valid_hours"]) * 3600.0)
        decisions: GroupCommit[Decision, Decision] = GroupCommit(
            writer, _unchanged, functools.partial(record_and_sign, opened_audit, signing_key),
            max_batch=ROWS_PER_STATEMENT)
        services = Services(settings, pool, store, audit, index, follower, signing_key,
                            RefreshTokens(refresh_key.encode(), lifetime), notification_secret,
                            audit_tools=tools, activity=activity, feed=feed,
                            decisions=decisions,
                            decision_rows=FactRows(audit, TokenRequestDecided,
                                                   decision_records.example()),
                            decision_memo=DecisionMemo(index),
                            directory=directory, sessions=sessions, social=social,
                            catalog=catalog, audit_follower=audit_follower, accounts=accounts,
                            credentials=credentials, ldap=ldap,
                            mailer=Mailer.from_settings(settings), recovery=recovery)
        if ldap is not None:
            from web.ldap.sync import check_at_start, periodic_group_sync

            await check_at_start(services)
            if ldap.config.group_sync:
                tasks.append(asyncio.create_task(periodic_group_sync(services),
                                                 name="ldap-group-sync"))
        yield services
    finally:
        for task in tasks:
            task.cancel()
        if feed is not None:
            await asyncio.to_thread(feed.shutdown)
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if tools is not None:
            await _seal_at_shutdown(pool, tools)
        # A cancelled task's blocking call keeps running in its worker thread: wait for every
        # such call to finish before closing the stores under it (SQLite segfaults otherwise).
        await asyncio.to_thread(pool.shutdown)
        await asyncio.to_thread(writer.shutdown)
        if tools is not None:
            await asyncio.to_thread(tools.side.close)
        if activity is not None:
            await asyncio.to_thread(activity.close)
        for log_app in (store, audit):
            if log_app is not None:
                await asyncio.to_thread(log_app.close)
