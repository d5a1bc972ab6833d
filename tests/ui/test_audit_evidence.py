"""The audit page's tamper evidence: each log's latest signed checkpoint and the last
verification, recorded as a fact whether `wharfinger audit verify` or "Verify now" ran it (both
backends)."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable
from html import unescape

from aiohttp.test_utils import TestClient

from tests.ui.test_console_http import csrf_of, sign_in
from tests.web.test_activities_api import caught_up
from tests.web.test_cli import cli_env
from tests.web.world import World
from web.appkeys import SERVICES, VERIFICATION_GATE
from web.cli import main
from web.settings import Settings

Client = TestClient  # type: ignore[type-arg]


def audit_positions(client: Client) -> int:
    return int(client.app[SERVICES].audit.recorder.max_notification_id() or 0)


async def test_checkpoints_and_the_last_verification_are_shown_to_auditors(
        client: Client, world: World, settings: Settings) -> None:
    services = client.app[SERVICES]
    await services.execute(lambda: services.store.grant_auditor(world.user_ids["outsider"]))
    await sign_in(client, "outsider")
    # Nothing signed or verified yet: the page says so.
    page = await (await client.get("/audit")).text()
    assert page.count("No checkpoint signed yet") == 2
    assert 'id="verification-none"' in page
    # Verify now, before any checkpoint: recorded, and not proven.
    before = audit_positions(client)
    unproven = await client.post("/audit/verify", data={"_csrf": csrf_of(page)})
    html = await unproven.text()
    assert unproven.status == 200
    assert "Not proven: no signed checkpoint yet." in html and "Verified by outsider" in html
    assert audit_positions(client) == before + 1
    # Checkpoints signed: their size, root and note are on the page, as the log holds them.
    await services.pool.run(services.audit_tools.make_checkpoints)
    cp = await services.pool.run(services.audit_tools.tlog("events").latest_checkpoint)
    assert cp is not None
    page = await (await client.get("/audit")).text()
    row = re.search(r"<th scope=\"row\">events</th>\s*<td>(\d+)</td>", page)
    assert row is not None and int(row[1]) == cp.size
    assert unescape(cp.note.splitlines()[0]) in unescape(page)
    # The command line's `audit verify` records its outcome; the page shows it once the feed
    # has read it.
    env = {**cli_env(settings), "WHARFINGER_MACHINE_FQDN_VALUE": settings.issuer}
    assert main(["audit", "verify", "--quiet"], env) == 0
    await caught_up(client)
    page = await (await client.get("/audit")).text()
    outcome = re.search(r'id="verification-outcome"[^>]*>(.*?)</p>', page, re.S)
    assert outcome is not None
    assert "The logs are intact." in outcome[1] and "Verified by cli" in outcome[1]
    assert re.search(r"<th scope=\"row\">events</th><td>\d+</td><td>\d+</td><td>\d+</td>"
                     r"\s*<td>OK", page)


async def test_only_admins_and_auditors_may_verify_and_the_feed_tells_it(
        client: Client, world: World) -> None:
    await sign_in(client, "owner")
    page = await (await client.get("/teams")).text()
    before = audit_positions(client)
    refused = await client.post("/audit/verify", data={"_csrf": csrf_of(page)})
    assert refused.status == 403
    assert audit_positions(client) == before
    await sign_in(client, "admin")
    page = await (await client.get("/audit")).text()
    done = await client.post("/audit/verify", data={"_csrf": csrf_of(page)})
    assert done.status == 200
    await caught_up(client)
    feed = await (await client.get("/activities", params={"type": "audit.verify"})).text()
    assert "admin verified the logs: not proven" in feed
    # The owner does not see verifications in their feed.
    await sign_in(client, "owner")
    theirs = await (await client.get("/activities")).text()
    assert "verified the logs" not in theirs


async def test_admins_sign_checkpoints_from_the_page_and_auditors_may_not(
        client: Client, world: World) -> None:
    services = client.app[SERVICES]
    tlog = services.audit_tools.tlog("events")
    await services.execute(lambda: services.store.grant_auditor(world.user_ids["outsider"]))
    await sign_in(client, "outsider")
    page = await (await client.get("/audit")).text()
    assert "Sign checkpoints now" not in page  # not offered to auditors...
    refused = await client.post("/audit/checkpoint", data={"_csrf": csrf_of(page)})
    assert refused.status == 403  # ...nor allowed, as on the API
    assert await services.pool.run(tlog.latest_checkpoint) is None
    await sign_in(client, "admin")
    page = await (await client.get("/audit")).text()
    assert "Sign checkpoints now" in page
    signed = await client.post("/audit/checkpoint", data={"_csrf": csrf_of(page)})
    html = await signed.text()
    assert signed.status == 200
    cp = await services.pool.run(tlog.latest_checkpoint)
    assert cp is not None
    assert re.search(rf'<th scope="row">events</th>\s*<td>{cp.size}</td>', html)


async def _eventually(condition: Callable[[], bool], seconds: float = 5) -> bool:
    for _ in range(int(seconds * 100)):
        if condition():
            return True
        await asyncio.sleep(0.01)
    return condition()


async def test_a_second_verify_now_joins_the_run_under_way_and_shows_its_outcome(
        client: Client, world: World) -> None:
    services = client.app[SERVICES]
    gate = client.app[VERIFICATION_GATE]
    await services.execute(lambda: services.store.grant_auditor(world.user_ids["outsider"]))
    # Two sessions on the same server: the admin and the auditor `outsider` (a second client
    # of the running server; closing only its HTTP session leaves the server to the fixture).
    other = TestClient(client.server)
    try:
        await sign_in(client, "admin")
        await sign_in(other, "outsider")
        admin_csrf = csrf_of(await (await client.get("/audit")).text())
        auditor_csrf = csrf_of(await (await other.get("/audit")).text())
        before = audit_positions(client)
        # Every pool thread busy (web.services: 8), so the first verification stays queued
        # while the second request arrives; nothing else is held back.
        release, busy = threading.Event(), threading.Semaphore(0)

        def occupy() -> None:
            busy.release()
            release.wait(30)

        occupying = [asyncio.ensure_future(services.pool.run(occupy)) for _ in range(8)]
        try:
            for _ in occupying:
                await asyncio.to_thread(busy.acquire)
            first = asyncio.ensure_future(client.post("/audit/verify",
                                                      data={"_csrf": admin_csrf}))
            assert await _eventually(lambda: gate.running is not None)
            second = asyncio.ensure_future(other.post("/audit/verify",
                                                      data={"_csrf": auditor_csrf}))
            # The second request joins the run (without the gate it would queue a second
            # verification behind the busy pool: the count of facts below tells).
            await _eventually(lambda: gate.running is not None and gate.running.waiting == 1)
        finally:
            release.set()
            await asyncio.gather(*occupying)
        started, joined = await first, await second
        started_html, joined_html = await started.text(), await joined.text()
        after_both = audit_positions(client)
        # Once it is over, the next click verifies again.
        assert gate.running is None
        again = await (await other.post("/audit/verify", data={"_csrf": auditor_csrf})).text()
    finally:
        await other.session.close()
    assert started.status == joined.status == 200
    # Verified once, not twice: one fact in the audit trail.
    assert after_both == before + 1
    assert 'id="verification-joined"' not in started_html
    notice = re.search(r'id="verification-joined"[^>]*>(.*?)</p>', joined_html, re.S)
    assert notice is not None
    assert "A verification was already running, started at" in notice[1]
    assert notice[1].rstrip().endswith("by admin; this is its result (the logs were verified"
                                       " once, not twice).")
    # Both pages show the same outcome: the admin's run.
    for html in (started_html, joined_html):
        assert "Verified by admin" in html and "Not proven" in html
    assert "Verified by outsider" in again and 'id="verification-joined"' not in again
    assert audit_positions(client) == before + 2
