"""The `ldap.*` keys of Portus's config.yml (portus.md §1.10), read once into a frozen value."""

from __future__ import annotations

from dataclasses import dataclass

from domain.values import Role
from web.settings import Secret, Settings


@dataclass(frozen=True)
class LdapConfig:
    hostname: str
    port: int
    timeout: float
    method: str
    """"" (plain), "start_tls" or "simple_tls" (LDAPS); "starttls" is Portus's alias."""
    ca_file: str
    ssl_version: str
    base: str
    admin_base: str
    group_base: str
    filter: str
    uid: str
    bind_dn: str
    bind_password: Secret | None
    guess_email: bool
    guess_email_attr: str
    group_sync: bool
    default_role: Role
    remove_members: bool
    sync_interval: float

    @classmethod
    def from_settings(cls, settings: Settings) -> LdapConfig | None:
        """None when LDAP is off."""
        if not settings["ldap.enabled"]:
            return None
        method = str(settings["ldap.encryption.method"])
        service_bind = bool(settings["ldap.authentication.enabled"])
        return cls(
            hostname=str(settings["ldap.hostname"]), port=int(settings["ldap.port"]),
            timeout=float(settings["ldap.timeout"]),
            method="start_tls" if method == "starttls" else method,
            ca_file=str(settings["ldap.encryption.options.ca_file"]),
            ssl_version=str(settings["ldap.encryption.options.ssl_version"]),
            base=str(settings["ldap.base"]), admin_base=str(settings["ldap.admin_base"]),
            group_base=str(settings["ldap.group_base"]), filter=str(settings["ldap.filter"]),
            uid=str(settings["ldap.uid"]) or "uid",
            bind_dn=str(settings["ldap.authentication.bind_dn"]) if service_bind else "",
            bind_password=(Secret(settings["ldap.authentication.password"])
                           if service_bind else None),
            guess_email=bool(settings["ldap.guess_email.enabled"]),
            guess_email_attr=str(settings["ldap.guess_email.attr"]),
            group_sync=bool(settings["ldap.group_sync.enabled"]),
            default_role=Role(str(settings["ldap.group_sync.default_role"])),
            remove_members=bool(settings["ldap.group_sync.remove_members"]),
            sync_interval=float(settings["ldap.group_sync.interval_seconds"]),
        )

    def problems(self) -> list[str]:
        """Mistakes visible without asking the directory, each naming its key."""
        found = []
        if not self.base:
            found.append("ldap.base: is empty; set the DN under which users are searched")
        if self.filter and not (self.filter.startswith("(") and self.filter.endswith(")")):
            found.append(f"ldap.filter: {self.filter!r} must be a parenthesised LDAP filter")
        if self.method and self.ca_file:
            import os

            if not os.path.isfile(self.ca_file):
                found.append(f"ldap.encryption.options.ca_file: {self.ca_file} is not a file")
        return found
