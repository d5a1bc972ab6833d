"""Talking to the directory with ldap3: search then bind, group lookups, health.

Every method here blocks (sockets) and is called through the blocking pool with the configured
timeout, never on the event loop. Values from users go into filters only through
`escape_filter_chars` (RFC 4515), so `*`, `(`, `)`, `\\` and NUL match themselves and nothing else.
Bind DNs come from the directory's own search results, never from text a user typed.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import ldap3
from ldap3.core import exceptions as ldap_errors
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import parse_dn

from web.ldap.config import LdapConfig
from web.ldap.tls import MinimumVersionTls


class DirectoryError(Exception):
    """The directory could not answer (unreachable, timed out, misconfigured): fail closed."""


class DirectoryRefusedError(Exception):
    """The directory answered no: unknown user or wrong password."""


@dataclass(frozen=True)
class DirectoryEntry:
    dn: str
    username: str
    email: str
    admin: bool


class Directory:
    def __init__(self, config: LdapConfig) -> None:
        self.config = config
        tls = None
        if config.method:
            tls = MinimumVersionTls(ca_file=config.ca_file, ssl_version=config.ssl_version)
        self._server = ldap3.Server(config.hostname, port=config.port,
                                    use_ssl=config.method == "simple_tls", tls=tls,
                                    connect_timeout=config.timeout, get_info=ldap3.NONE)

    # -- connections ------------------------------------------------------------------------

    def _connect(self, user: str | None, password: str | None) -> ldap3.Connection:
        """An open, encrypted as configured, bound connection. Raises DirectoryRefusedError for
        invalid credentials and DirectoryError for anything else."""
        conn = ldap3.Connection(self._server, user=user, password=password,
                                receive_timeout=max(1, int(self.config.timeout)), read_only=True,
                                raise_exceptions=False, auto_referrals=False)
        try:
            conn.open()
            if self.config.method == "start_tls" and not conn.start_tls():
                raise DirectoryError(f"ldap.encryption.method: StartTLS failed: {_why(conn)}")
            if not conn.bind():
                if conn.result and conn.result.get("result") == 49:
                    raise DirectoryRefusedError(_why(conn))
                raise DirectoryError(_why(conn))
        except (DirectoryError, DirectoryRefusedError):
            _close(conn)
            raise
        except ldap_errors.LDAPException as e:
            _close(conn)
            raise DirectoryError(f"LDAP server is unreachable: {_exception_text(e)}") from None
        except Exception as e:
            _close(conn)
            raise DirectoryError(f"LDAP server is unreachable: {_exception_text(e)}") from None
        return conn

    def _service(self) -> ldap3.Connection:
        """The connection searches run on: the service account, or anonymous."""
        try:
            if self.config.bind_dn:
                return self._connect(self.config.bind_dn, str(self.config.bind_password or ""))
            return self._connect(None, None)
        except DirectoryRefusedError as e:
            raise DirectoryError(f"ldap.authentication.bind_dn: {e}") from None

    # -- users ------------------------------------------------------------------------------

    def _user_filter(self, username: str) -> str:
        own = f"({self.config.uid}={escape_filter_chars(username)})"
        return f"(&{own}{self.config.filter})" if self.config.filter else own

    def _find(self, conn: ldap3.Connection, username: str) -> DirectoryEntry | None:
        """admin_base first (an entry there is an admin), then base; exactly one entry."""
        bases = [(b, admin) for b, admin in ((self.config.admin_base, True),
                                             (self.config.base, False)) if b]
        attributes = [self.config.uid]
        if self.config.guess_email and self.config.guess_email_attr:
            attributes.append(self.config.guess_email_attr)
        for base, admin in bases:
            entries = _search(conn, base, self._user_filter(username), attributes,
                              key="ldap.admin_base" if admin else "ldap.base", size_limit=2)
            if len(entries) == 1:
                return self._entry(entries[0], admin)
        return None

    def _entry(self, raw: dict[str, Any], admin: bool) -> DirectoryEntry:
        attributes = raw.get("attributes", {})
        dn = str(raw["dn"])
        username = _first(attributes.get(self.config.uid)) or ""
        return DirectoryEntry(dn, username, self._email(dn, username, attributes), admin)

    def _email(self, dn: str, username: str, attributes: dict[str, Any]) -> str:
        """Portus's email guessing: off, an attribute's first value, or username@dc.parts."""
        if not self.config.guess_email:
            return ""
        if self.config.guess_email_attr:
            return _first(attributes.get(self.config.guess_email_attr)) or ""
        parts = [value for attr, value, _ in parse_dn(dn) if attr.lower() == "dc"]
        return f"{username}@{'.'.join(parts)}" if parts else ""

    def authenticate(self, username: str, password: str) -> DirectoryEntry:
        """Search for the user with the service connection, then bind as the entry found."""
        if not password:
            # An empty simple bind is an unauthenticated bind that succeeds (RFC 4513 §5.1.2).
            raise DirectoryRefusedError("empty password")
        conn = self._service()
        try:
            entry = self._find(conn, username)
        finally:
            _close(conn)
        if entry is None:
            raise DirectoryRefusedError(f"Could not find user '{username}'")
        _close(self._connect(entry.dn, password))
        return entry

    def lookup(self, username: str) -> DirectoryEntry | None:
        conn = self._service()
        try:
            return self._find(conn, username)
        finally:
            _close(conn)

    # -- groups -----------------------------------------------------------------------------

    @property
    def _group_base(self) -> str:
        return self.config.group_base or self.config.base

    def groups_of(self, entry: DirectoryEntry) -> set[str]:
        """Names (cn) of the groups listing the user: groupOfNames/groupOfUniqueNames by DN,
        posixGroup by uid."""
        dn, uid = escape_filter_chars(entry.dn), escape_filter_chars(entry.username)
        query = (f"(|(&(objectClass=groupOfNames)(member={dn}))"
                 f"(&(objectClass=groupOfUniqueNames)(uniqueMember={dn}))"
                 f"(&(objectClass=posixGroup)(memberUid={uid})))")
        conn = self._service()
        try:
            found = _search(conn, self._group_base, query, ["cn"], key="ldap.group_base")
        finally:
            _close(conn)
        return {name for raw in found for name in _values(raw.get("attributes", {}).get("cn"))}

    def group_members(self, group: str) -> list[DirectoryEntry] | None:
        """The users of the group named `group` that the user filter admits, or None when the
        directory has no such group."""
        query = (f"(&(cn={escape_filter_chars(group)})(|(objectClass=groupOfNames)"
                 "(objectClass=groupOfUniqueNames)(objectClass=posixGroup)))")
        conn = self._service()
        try:
            groups = _search(conn, self._group_base, query,
                             ["member", "uniqueMember", "memberUid"], key="ldap.group_base")
            if not groups:
                return None
            members: dict[str, DirectoryEntry] = {}
            for raw in groups:
                attributes = raw.get("attributes", {})
                for dn in _values(attributes.get("member")) + _values(
                        attributes.get("uniqueMember")):
                    entry = self._read_member(conn, dn)
                    if entry is not None:
                        members[entry.dn] = entry
                for uid in _values(attributes.get("memberUid")):
                    found = self._find(conn, uid)
                    if found is not None:
                        members[found.dn] = found
            return sorted(members.values(), key=lambda e: e.username)
        finally:
            _close(conn)

    def _read_member(self, conn: ldap3.Connection, dn: str) -> DirectoryEntry | None:
        """A member DN, if it is a user under admin_base or base that the filter admits."""
        lowered = dn.lower()
        for base, admin in ((self.config.admin_base, True), (self.config.base, False)):
            if base and lowered.endswith(base.lower()):
                attributes = [self.config.uid]
                if self.config.guess_email and self.config.guess_email_attr:
                    attributes.append(self.config.guess_email_attr)
                query = self.config.filter or "(objectClass=*)"
                entries = _search(conn, dn, query, attributes, key="ldap.base",
                                  scope=ldap3.BASE, missing_ok=True)
                if len(entries) == 1 and _first(
                        entries[0].get("attributes", {}).get(self.config.uid)):
                    return self._entry(entries[0], admin)
                return None
        return None

    # -- health -----------------------------------------------------------------------------

    def check(self) -> str:
        """"LDAP server is reachable", or raise DirectoryError naming the key at fault."""
        for problem in self.config.problems():
            raise DirectoryError(problem)
        conn = self._service()
        try:
            for base, key in ((self.config.base, "ldap.base"),
                              (self.config.admin_base, "ldap.admin_base"),
                              (self.config.group_base, "ldap.group_base")):
                if base:
                    _search(conn, base, "(objectClass=*)", [], key=key, scope=ldap3.BASE)
        finally:
            _close(conn)
        return "LDAP server is reachable"


def _search(conn: ldap3.Connection, base: str, query: str, attributes: list[str], *, key: str,
            size_limit: int = 0, scope: str = ldap3.SUBTREE,
            missing_ok: bool = False) -> list[dict[str, Any]]:
    try:
        conn.search(base, query, search_scope=scope, attributes=attributes,
                    size_limit=size_limit)
    except ldap_errors.LDAPException as e:
        raise DirectoryError(f"LDAP search failed: {_exception_text(e)}") from None
    code = conn.result.get("result") if conn.result else None
    if code == 32:  # noSuchObject
        if missing_ok:
            return []
        raise DirectoryError(f"{key}: {base!r} does not exist in the directory (code 32)")
    if code not in (0, 4):  # success, sizeLimitExceeded (more than one match: ambiguous)
        raise DirectoryError(f"{key}: {_why(conn)}")
    return [r for r in conn.response or [] if r.get("type") == "searchResEntry"]


def _why(conn: ldap3.Connection) -> str:
    result = conn.result or {}
    description = str(result.get("description") or "error")
    message = str(result.get("message") or "").strip()
    text = description.replace("invalidCredentials", "Invalid Credentials")
    return f"{text}{': ' + message if message else ''} (code {result.get('result')})"


def _exception_text(e: Exception) -> str:
    return str(e).splitlines()[0][:200] if str(e) else type(e).__name__


def _values(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]


def _first(value: Any) -> str | None:
    values = _values(value)
    return values[0] if values else None


def _close(conn: ldap3.Connection) -> None:
    with contextlib.suppress(Exception):
        conn.unbind()
    sock = getattr(conn, "socket", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.close()
