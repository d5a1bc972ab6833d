"""Audit-trail facts that tests append (a pull notified by the registry)."""

from __future__ import annotations

from domain.repositories import ManifestPulled


def pull(n: int) -> ManifestPulled:
    """The n-th pull of a/b:v1, with its own digest and event id."""
    return ManifestPulled.new(
        repository="a/b", tag="v1", digest=f"sha256:{n:064x}", media_type="x",
        event_id=f"e{n}", request_id="", client_addr="", user_agent="",
        registry_instance="", occurred_at="")
