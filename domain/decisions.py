"""Decision records: one fact per `/v2/token` request, written before the response is sent.

They go to the audit trail (domain.audit_trail), never to the change log, so their volume cannot
slow the permission projection (issue 5, point 2; peers.md (d) item 3 lists the fields an
auditor expects under ISO 27001 A.8.15).
"""

from __future__ import annotations

from datetime import datetime

from domain.facts import Fact

ISSUED = "issued"
REFUSED = "refused"


class TokenRequestDecided(Fact):
    """A token request and what was decided: `outcome` is `issued` (a token was sent, maybe
    granting nothing) or `refused` (authentication failed; `refusal` says why)."""

    subject: str
    """The authenticated username, or the username that was tried when refused; "" if none."""
    subject_id: str
    """The user's id when known, else ""."""
    credential: str
    """password, application_token, refresh_token, ldap, or anonymous."""
    client_address: str
    forwarded_for: str
    """The X-Forwarded-For header as sent: untrusted, kept apart from the TCP peer."""
    user_agent: str
    service: str
    requested: list[str]
    granted: list[str]
    reasons: dict[str, dict[str, str]]
    """scope -> action -> why it was granted or denied (domain.policy reasons)."""
    outcome: str
    refusal: str
    jti: str
    expires_at: datetime | None
