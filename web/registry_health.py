"""What `/api/v1/health` says about the registry: is it reachable, and are notifications arriving.

"My push doesn't show up" has two usual causes: Wharfinger cannot reach the registry, or the
registry's notifications do not reach Wharfinger (wrong URL or secret in its config.yml). The time
of the last notification recorded tells the second apart: it stays empty, or old, while pushes
happen.
"""

from __future__ import annotations

from datetime import UTC, datetime

from web.registry_client import RegistryUnavailableError, registry_client, target_of
from web.services import Services


async def registry_health(services: Services) -> tuple[dict[str, object], bool]:
    """The `registry` and `notifications` components, and whether the registry is healthy
    (True when no registry is registered yet: nothing to be unhealthy about)."""
    last = services.catalog.last_notification_at
    notifications: dict[str, object] = {
        "last_received_at": last.isoformat() if last else None,
        "seconds_ago": round((datetime.now(UTC) - last).total_seconds()) if last else None,
        "msg": "last registry notification recorded" if last else (
            "no registry notification recorded yet: if pushes do not show up, check the "
            "registry's notifications endpoint (wharfinger registry-config prints it)"),
    }
    registry = services.index.registry
    if registry is None:
        return {"registry": {"msg": "no registry is registered", "success": False,
                             "reachable": None},
                "notifications": notifications}, True
    target = target_of(registry.hostname, registry.use_ssl)
    try:
        async with registry_client(target, services.signing_key, services.settings) as client:
            status = await client.ping()
        reachable = status in (200, 401)
        message = (f"{target.base_url}/v2/ answered {status}" if reachable else
                   f"{target.base_url}/v2/ answered {status}, expected 200 or 401")
    except RegistryUnavailableError as e:
        reachable, message = False, f"cannot reach {target.base_url}: {e}"
    return {"registry": {"msg": message, "success": reachable, "reachable": reachable,
                         "url": target.base_url},
            "notifications": notifications}, reachable
