"""The Docker Distribution configuration that points a registry at Wharfinger.

`auth.token` (docs/configuration.md, "token") and one `notifications.endpoints` entry whose
`Authorization` header carries the webhook secret (docker-token-auth.md §3.8).
"""

from __future__ import annotations

from pathlib import Path

import yaml


def registry_config_dict(*, realm: str, service: str, issuer: str, rootcertbundle: Path,
                         notification_url: str, notification_secret: str) -> dict[str, object]:
    return {
        "auth": {"token": {"realm": realm, "service": service, "issuer": issuer,
                           "rootcertbundle": str(rootcertbundle.resolve())}},
        "notifications": {"endpoints": [{
            "name": "wharfinger",
            "url": notification_url,
            "headers": {"Authorization": [f"Bearer {notification_secret}"]},
            "timeout": "2s",
            "threshold": 5,
            "backoff": "1s",
        }]},
    }


def registry_config_yaml(**kwargs: object) -> str:
    body = yaml.safe_dump(registry_config_dict(**kwargs),  # type: ignore[arg-type]
                          sort_keys=False, default_flow_style=False)
    return ("# Paste into the registry's config.yml (Docker Distribution), replacing any `auth:`\n"
            "# block and adding to `notifications:`; the secret authenticates its webhook calls.\n"
            + body)
