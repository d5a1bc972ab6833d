"""The Docker Distribution configuration that points a registry at Wharfinger (§1.5, §3.8).

`auth.token` (Distribution docs/configuration.md, "token"; docker-token-auth.md §1.5) and one
`notifications.endpoints` entry whose `Authorization` header carries the webhook secret (§3.8).
"""

from __future__ import annotations

from pathlib import Path

import yaml

ENDPOINT_NAME = "wharfinger"

_HEADER = """\
# Wharfinger: paste this into the registry's config.yml (Docker Distribution, e.g.
# /etc/docker/registry/config.yml). Replace any existing `auth:` block; if the file already has
# `notifications:`, add the endpoint below to its `endpoints:` list. The Authorization value is a
# secret: it is how Wharfinger knows the events come from this registry. Restart the registry.
"""


def registry_config_dict(*, realm: str, service: str, issuer: str, rootcertbundle: Path,
                         notification_url: str, notification_secret: str) -> dict[str, object]:
    """The `auth` and `notifications` sections, as the registry's YAML parser would load them.

    A relative `rootcertbundle` is made absolute, because the registry resolves it against its
    own working directory; an absolute one is kept as given, since it may name the file as the
    registry sees it (in another container) rather than as it exists here.
    """
    bundle = rootcertbundle if rootcertbundle.is_absolute() else rootcertbundle.resolve()
    return {
        "auth": {"token": {"realm": realm, "service": service, "issuer": issuer,
                           "rootcertbundle": str(bundle)}},
        "notifications": {
            # Manifest events then carry their config and layer descriptors, so a tag's size
            # is the image's, not the manifest's (Distribution 2.8 leaves them out by default).
            "events": {"includereferences": True},
            "endpoints": [{
                "name": ENDPOINT_NAME,
                "url": notification_url,
                # Header values are lists in Distribution's config (§1.5).
                "headers": {"Authorization": [f"Bearer {notification_secret}"]},
                "timeout": "2s",
                # After 5 straight failures the registry retries once a second, forever (§3.8).
                "threshold": 5,
                "backoff": "1s",
            }],
        },
    }


def registry_config_yaml(*, realm: str, service: str, issuer: str, rootcertbundle: Path,
                         notification_url: str, notification_secret: str) -> str:
    """`registry_config_dict` as a commented YAML fragment, ready to paste."""
    body = yaml.safe_dump(
        registry_config_dict(realm=realm, service=service, issuer=issuer,
                             rootcertbundle=rootcertbundle, notification_url=notification_url,
                             notification_secret=notification_secret),
        # No allow_unicode: with it PyYAML writes U+0085 (NEL) raw into a quoted scalar and reads
        # it back as a space; escaped, every string round-trips. Width: never fold a long URL.
        sort_keys=False, default_flow_style=False, width=4096)
    return _HEADER + body
