"""Every configuration key Wharfinger understands, with Portus's shipped defaults (portus.md §1.10).

A key is a dotted path; its default's type is the key's type unless `CHOICES` restricts it further.
Keys of Portus that do not apply to Wharfinger (OAuth, security scanners, gravatar's CDN) are
accepted and ignored so an existing `config.yml` loads unchanged; they are listed in `IGNORED`.
"""

from __future__ import annotations

DEFAULTS: dict[str, object] = {
    "machine_fqdn.value": "portus.test.lan",
    "registry.jwt_expiration_time.value": 15,
    "registry.catalog_page.value": 100,
    "registry.timeout.value": 2,
    "registry.read_timeout.value": 120,
    "delete.enabled": True,
    "delete.contributors": False,
    "delete.garbage_collector.enabled": False,
    "delete.garbage_collector.older_than": 30,
    "delete.garbage_collector.keep_latest": 5,
    "delete.garbage_collector.tag": "",
    "first_user_admin.enabled": True,
    "signup.enabled": True,
    "check_ssl_usage.enabled": True,
    "display_name.enabled": False,
    "gravatar.enabled": True,
    "anonymous_browsing.enabled": True,
    "user_permission.change_visibility.enabled": True,
    "user_permission.create_team.enabled": True,
    "user_permission.manage_team.enabled": True,
    "user_permission.create_namespace.enabled": True,
    "user_permission.manage_namespace.enabled": True,
    "user_permission.create_webhook.enabled": True,
    "user_permission.manage_webhook.enabled": True,
    "user_permission.push_images.policy": "allow-teams",
    "background.registry.enabled": True,
    "background.sync.enabled": True,
    "background.sync.strategy": "initial",
    "pagination.per_page": 10,
    "pagination.before_after": 2,
    "email.from": "portus@example.com",
    "email.name": "Portus",
    "email.reply_to": "",
    "email.smtp.enabled": False,
    "email.smtp.address": "smtp.example.com",
    "email.smtp.port": 587,
    "email.smtp.domain": "example.com",
    "email.smtp.ssl_tls": "",
    "email.smtp.enable_starttls_auto": False,
    "email.smtp.openssl_verify_mode": "none",
    "email.smtp.ca_path": "",
    "email.smtp.ca_file": "",
    "email.smtp.user_name": "",
    "email.smtp.password": "",
    "email.smtp.authentication": "login",
    "ldap.enabled": False,
    "ldap.hostname": "ldap_hostname",
    "ldap.port": 389,
    "ldap.timeout": 5,
    "ldap.encryption.method": "",
    "ldap.encryption.options.ca_file": "",
    "ldap.encryption.options.ssl_version": "TLSv1_2",
    "ldap.base": "",
    "ldap.admin_base": "",
    "ldap.group_base": "",
    "ldap.filter": "",
    "ldap.uid": "uid",
    "ldap.authentication.enabled": False,
    "ldap.authentication.bind_dn": "",
    "ldap.authentication.password": "",
    "ldap.group_sync.enabled": True,
    "ldap.group_sync.default_role": "viewer",
    "ldap.guess_email.enabled": False,
    "ldap.guess_email.attr": "",
    # Wharfinger's own keys.
    "token.signing_algorithm": "ES256",
    "token.refresh_token_lifetime_days": 90,
    "token.max_staleness_seconds": 5,
    "registry.record_pulls.enabled": True,
    # Registry integration (issue 3): seconds between reconcile rounds of the update strategies.
    "background.sync.interval_seconds": 20,
    # Audit: time travel and tamper evidence (issue 5).
    "audit.fold_checkpoint_interval": 1000,
    "audit.checkpoint_interval_seconds": 300,
    "audit.sealer_process_after_ms": 50,
    # The activity feed (issue 5): false leaves the projector to `wharfinger project`.
    "projections.run_in_process": True,
    "projections.activity.interval_ms": 1000,
    "projections.activity.duty_cycle_percent": 10,
    # Authentication breadth (issue 7): LDAP group sync removal and period, lockout (Portus F9's
    # 10 attempts / 10 minutes), the verified-credential cache, password recovery (F10: 6 hours).
    "ldap.group_sync.remove_members": True,
    "ldap.group_sync.interval_seconds": 300,
    "lockout.maximum_attempts": 10,
    "lockout.unlock_in_minutes": 10,
    "credential_cache.ttl_seconds": 60,
    "password_recovery.valid_hours": 6,
}

CHOICES: dict[str, tuple[str, ...]] = {
    "user_permission.push_images.policy": ("allow-teams", "allow-personal", "admin-only"),
    "background.sync.strategy": ("update", "update-delete", "on-start", "initial"),
    "ldap.encryption.method": ("", "start_tls", "starttls", "simple_tls"),
    "ldap.group_sync.default_role": ("viewer", "contributor", "owner"),
    # Portus also took TLSv1 and TLSv1_1; both are insecure (RFC 8996), so they stop start-up.
    "ldap.encryption.options.ssl_version": ("TLSv1_2", "TLSv1_3"),
    "token.signing_algorithm": ("ES256", "RS256"),
}

MINIMUM: dict[str, int] = {
    "registry.jwt_expiration_time.value": 1,
    "registry.catalog_page.value": 1,
    "registry.timeout.value": 1,
    "registry.read_timeout.value": 1,
    "pagination.per_page": 1,
    "token.refresh_token_lifetime_days": 1,
    "token.max_staleness_seconds": 1,
    "projections.activity.interval_ms": 10,
    "projections.activity.duty_cycle_percent": 1,
    "ldap.port": 1,
    "ldap.timeout": 1,
    "email.smtp.port": 1,
    "audit.fold_checkpoint_interval": 1,
    "audit.checkpoint_interval_seconds": 1,
    "audit.sealer_process_after_ms": 0,
    "background.sync.interval_seconds": 1,
    "ldap.group_sync.interval_seconds": 5,
    "lockout.maximum_attempts": 1,
    "lockout.unlock_in_minutes": 1,
    "password_recovery.valid_hours": 1,
}

SECRET_KEYS = frozenset({"ldap.authentication.password", "email.smtp.password"})

IGNORED_PREFIXES = ("oauth.", "security.", "feature.", "jwt_secret")
"""Portus keys accepted for compatibility that configure features Wharfinger does not have."""
