"""A busy node seals its Merkle trees in a process of its own (web.sealer_process), and falls
back to sealing in the service when that process is gone; it stops with the service. Both
backends: the sealer opens the store from its environment like the service does."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestClient

from eventstore.reader import head_position
from tests.conftest import AppStarter
from tests.web.world import build_world
from web.appkeys import SERVICES
from web.services import Services


async def eventually(check: Callable[[], Awaitable[bool]], what: str,
                     seconds: float = 20.0) -> None:
    for _ in range(int(seconds * 10)):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not within {seconds} s: {what}")


async def sealed_to_head(services: Services) -> bool:
    tools = services.audit_tools
    head = await services.pool.run(head_position, services.store)
    audit_head = await services.pool.run(head_position, services.audit)
    return (await services.pool.run(tools.tlogs["events"].size) >= head
            and await services.pool.run(tools.tlogs["audit"].size) >= audit_head)


async def more_events(client: TestClient, prefix: str) -> None:  # type: ignore[type-arg]
    services = client.app[SERVICES]
    for i in range(5):
        name = f"{prefix}{i}"
        await services.execute(lambda name=name: services.store.register_user(
            username=name, email=f"{name}@example.org", password_hash=None))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_a_busy_node_seals_in_its_own_process(start_app: AppStarter) -> None:
    # Every round counts as busy (0 ms), and no checkpoint is signed for an hour: whatever is
    # sealed while the sealer runs, the sealer sealed.
    client = await start_app(WHARFINGER_AUDIT_CHECKPOINT_INTERVAL_SECONDS="3600",
                             WHARFINGER_AUDIT_SEALER_PROCESS_AFTER_MS="0")
    await build_world(client)
    services = client.app[SERVICES]
    sealer = services.audit_tools.sealer
    assert sealer is not None

    async def started() -> bool:
        return sealer.pid is not None

    await eventually(started, "the sealer process started")
    pid = sealer.pid
    assert pid is not None and pid != os.getpid() and alive(pid)
    await more_events(client, "sealer")
    await eventually(lambda: sealed_to_head(services), "the sealer sealed the new events")
    assert sealer.pid == pid

    # Gone (killed, crashed): the service seals again itself, and waits a minute before
    # starting another sealer.
    os.kill(pid, signal.SIGKILL)

    async def noticed() -> bool:
        return not sealer.check_running()

    await eventually(noticed, "the service noticed the sealer is gone")
    await more_events(client, "service")
    await eventually(lambda: sealed_to_head(services), "the service sealed in-process")
    assert sealer.pid is None
    assert await services.pool.run(services.audit_tools.tlogs["events"].latest_checkpoint) is None


async def test_the_sealer_stops_with_the_service(start_app: AppStarter) -> None:
    client = await start_app(WHARFINGER_AUDIT_SEALER_PROCESS_AFTER_MS="0")
    await build_world(client)
    sealer = client.app[SERVICES].audit_tools.sealer
    assert sealer is not None

    async def started() -> bool:
        return sealer.pid is not None

    await eventually(started, "the sealer process started")
    pid = sealer.pid
    assert pid is not None
    await start_app.stop_all()
    assert not alive(pid)


async def test_a_quiet_node_seals_in_the_service(start_app: AppStarter) -> None:
    """Below the threshold (no round takes ten minutes) the trees are sealed, and no sealer
    process is started."""
    client = await start_app(WHARFINGER_AUDIT_CHECKPOINT_INTERVAL_SECONDS="3600",
                             WHARFINGER_AUDIT_SEALER_PROCESS_AFTER_MS="600000")
    await build_world(client)
    services = client.app[SERVICES]
    await eventually(lambda: sealed_to_head(services), "the service sealed in-process")
    sealer = services.audit_tools.sealer
    assert sealer is not None and sealer.pid is None
