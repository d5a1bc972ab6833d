"""Decision records: one fact per `/v2/token` request, written before the response is sent.

They go to the audit trail (domain.audit_trail), never to the change log, so their volume cannot
slow the permission projection (issue 5, point 2; peers.md (d) item 3 lists the fields an
auditor expects under ISO 27001 A.8.15).
"""

from __future__ import annotations

from datetime import UTC, datetime

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


def example() -> TokenRequestDecided:
    """A decision with every kind of value a record holds (non-ASCII text, quotes, control
    characters, nested reasons, a datetime): what a fast encoder checks itself against
    (eventstore.fact_rows)."""
    return TokenRequestDecided.new(
        actor="zoë", subject="zoë", subject_id="0b4f8a52-8c6e-4f1e-9a43-5f0b8c2d7e10",
        credential="application_token", client_address="192.0.2.7",
        forwarded_for="203.0.113.9, 198.51.100.2", user_agent='docker/27.0 "ü" \\ \t \u2028',
        service="registry.example:5000", requested=["repository:zoë/app:pull,push"],
        granted=["repository:zoë/app:pull"],
        reasons={"repository:zoë/app:pull,push": {"pull": "team viewer", "push": "team viewer"}},
        outcome=ISSUED, refusal="", jti="Qm9ndXMganRp",
        expires_at=datetime(2026, 1, 2, 3, 4, 5, 6, UTC))
