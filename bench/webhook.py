"""Registry notification intake: how long the registry waits for `POST /v2/webhooks/events`.

The subject is the real endpoint (secret check, parse, a durable append of the tag push with its
receipt, waiting for this node's read model) on a running Wharfinger over TCP. The baseline, in the
same run, is a bare aiohttp handler that reads and parses the same envelope and answers 202
without storing anything: the ratio is what durability and idempotency cost per notification.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from tempfile import TemporaryDirectory

import aiohttp
from aiohttp import web

from bench.common import Row, median, row
from web.app import create_app
from web.appkeys import SERVICES
from web.settings import load_settings

V1 = "application/vnd.docker.distribution.events.v1+json"


def _envelope(n: int) -> bytes:
    event = {
        "id": str(uuid.uuid4()), "timestamp": "2026-11-26T16:32:53.655Z", "action": "push",
        "actor": {"name": "alice"},
        "target": {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                   "digest": "sha256:" + f"{n:064x}", "size": 401, "length": 401,
                   "repository": f"bench/app{n % 20}", "tag": f"v{n}"},
        "request": {"id": str(uuid.uuid4()), "addr": "127.0.0.1:4242", "host": "r:5000",
                    "method": "PUT", "useragent": "skopeo/1.9.3"},
        "source": {"addr": "vm:5000", "instanceID": "bench"}}
    return json.dumps({"events": [event]}).encode()


async def _bare(request: web.Request) -> web.Response:
    json.loads(await request.read())
    return web.json_response({"recorded": 1}, status=202)


async def _measure(url: str, secret: str, count: int) -> list[float]:
    samples = []
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": V1}
    async with aiohttp.ClientSession() as session:
        for n in range(count):
            body = _envelope(n)
            started = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                assert response.status == 202, response.status
            samples.append((time.perf_counter() - started) * 1000)
    return samples


async def _run(database_url: str | None, count: int) -> tuple[list[float], list[float]]:
    with TemporaryDirectory() as tmp:
        env = {"WHARFINGER_DATA_DIR": str(Path(tmp) / "data"),
               "WHARFINGER_BACKGROUND_SYNC_ENABLED": "false"}
        if database_url:
            env["WHARFINGER_DATABASE_URL"] = database_url
        app = create_app(load_settings(env))
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        services = app[SERVICES]
        await services.pool.run(services.store.register_registry, name="r", hostname="r:5000")
        bare = web.Application()
        bare.router.add_post("/events", _bare)
        bare_runner = web.AppRunner(bare)
        await bare_runner.setup()
        bare_site = web.TCPSite(bare_runner, "127.0.0.1", 0)
        await bare_site.start()
        bare_port = bare_site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            secret = services.notification_secret
            await _measure(f"http://127.0.0.1:{port}/v2/webhooks/events", secret, 20)  # warm
            subject = await _measure(f"http://127.0.0.1:{port}/v2/webhooks/events", secret,
                                     count)
            baseline = await _measure(f"http://127.0.0.1:{bare_port}/events", secret, count)
        finally:
            await bare_runner.cleanup()
            await runner.cleanup()
    return subject, baseline


def main(count: int = 500, database_url: str | None = None) -> list[Row]:
    subject, baseline = asyncio.run(_run(database_url, count))
    backend = "postgres" if database_url else "sqlite"
    return [row("webhook intake", f"one push notification, durable append, {backend}",
                value=median(subject), unit="ms", better="lower", baseline=median(baseline),
                baseline_name="bare aiohttp handler parsing the envelope, no storage",
                target="well under the registry's 2 s endpoint timeout",
                p95_ms=round(sorted(subject)[int(len(subject) * 0.95)], 3))]
