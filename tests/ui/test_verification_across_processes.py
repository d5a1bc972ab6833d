"""One verification at a time over a store, across processes and nodes (web.log_verification,
eventstore.store_lock): "Verify now" waits for a run another node holds and shows its outcome,
and `wharfinger audit verify` waits for the run under way (both backends)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from aiohttp.test_utils import TestClient

from eventstore.location import StoreLocation
from tests.ui.test_audit_evidence import _eventually, audit_positions
from tests.ui.test_console_http import csrf_of, sign_in
from tests.web.test_cli import cli_env
from tests.web.world import World
from web.appkeys import SERVICES, VERIFICATION_GATE
from web.log_verification import note_of, verification_lock, verify_and_record
from web.settings import Settings

Client = TestClient  # type: ignore[type-arg]
ROOT = Path(__file__).resolve().parents[2]


def another_node(settings: Settings) -> StoreLocation:
    """The store as another node opens it: nothing shared with the app but the store."""
    return StoreLocation.from_settings(settings.data_dir, settings.database_url)


async def test_verify_now_waits_for_another_nodes_run_and_shows_its_outcome(
        client: Client, world: World, settings: Settings) -> None:
    services = client.app[SERVICES]
    gate = client.app[VERIFICATION_GATE]
    lock = verification_lock(another_node(settings))
    await sign_in(client, "admin")
    csrf = csrf_of(await (await client.get("/audit")).text())
    before = audit_positions(client)
    # Another node's auditor is verifying: it holds the store's lock.
    started_there = datetime(2026, 12, 7, 10, 0, 0, tzinfo=UTC)
    theirs = note_of("nodeb-auditor", started_there, "their-run")
    held = await asyncio.to_thread(lock.try_hold, theirs)
    assert held is not None
    answer = asyncio.ensure_future(client.post("/audit/verify", data={"_csrf": csrf}))
    # This server waits for that run instead of verifying the logs a second time.
    assert await _eventually(lambda: gate.running is not None
                             and gate.running.elsewhere is not None)
    await asyncio.sleep(0.5)
    assert not answer.done()
    assert audit_positions(client) == before
    # The other node records its outcome and lets go.
    _, fact = await asyncio.to_thread(verify_and_record, services.audit_tools,
                                      actor="nodeb-auditor")
    await asyncio.to_thread(held.release, {"run": "their-run",
                                           "fact": str(fact.originator_id)})
    html = await (await answer).text()
    # Verified once, by the other node; this page says so and shows its outcome.
    assert audit_positions(client) == before + 1
    notice = re.search(r'id="verification-joined"[^>]*>(.*?)</p>', html, re.S)
    assert notice is not None
    assert "2026-12-07 10:00:00 UTC</time> by nodeb-auditor" in notice[1]
    assert "Verified by nodeb-auditor" in html
    assert gate.running is None

    # The other node's run ends without an outcome (it failed): this server verifies itself.
    held = await asyncio.to_thread(lock.try_hold, note_of("nodeb-auditor", started_there,
                                                          "failed-run"))
    assert held is not None
    answer = asyncio.ensure_future(client.post("/audit/verify", data={"_csrf": csrf}))
    assert await _eventually(lambda: gate.running is not None
                             and gate.running.elsewhere is not None)
    await asyncio.to_thread(held.release)
    html = await (await answer).text()
    assert audit_positions(client) == before + 2
    assert 'id="verification-joined"' not in html and "Verified by admin" in html


def test_audit_verify_waits_for_the_run_under_way(settings: Settings) -> None:
    location = another_node(settings)
    lock = verification_lock(location)
    # The console of some node is verifying.
    held = lock.try_hold(note_of("admin", datetime(2026, 12, 7, 9, 30, tzinfo=UTC), "web-run"))
    assert held is not None
    env = {**cli_env(settings), "PATH": "/usr/bin:/bin"}
    code = "import sys; from web.cli import main; sys.exit(main(sys.argv[1:]))"
    released = False
    try:
        with subprocess.Popen([sys.executable, "-c", code, "audit", "verify", "--quiet"],
                              cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) as cli:
            assert cli.stderr is not None and cli.stdout is not None
            # It says who is verifying, and waits.
            told = cli.stderr.readline()
            assert told.strip() == ("A verification is already running, started at"
                                    " 2026-12-07 09:30:00 UTC by admin; waiting for it to"
                                    " finish...")
            with contextlib.suppress(subprocess.TimeoutExpired):
                cli.wait(1)
            assert cli.poll() is None
            assert lock.last() is None  # it has recorded nothing yet
            held.release({"run": "web-run"})
            released = True
            out = cli.stdout.read()
            assert cli.wait(60) == 0
    finally:
        if not released:
            held.release()
    assert "The logs are intact." in out  # empty logs, nothing to prove
    # Then it verified, holding the lock itself, and left its outcome's note.
    last = lock.last()
    assert last is not None and last["run"] != "web-run" and last["fact"]
    assert lock.holder() is None
