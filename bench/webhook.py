"""Registry notification intake: latency of one notification, and events per second under load.

Latency (`main`): the real endpoint (secret check, parse, a durable append of the tag push with
its receipt, waiting for this node's read model) on a running Wharfinger over TCP, one envelope
at a time. The baseline, in the same run, is a bare aiohttp handler that reads and parses the same
envelope and answers 202 without storing anything: the ratio is what durability and idempotency
cost per notification.

Throughput (`throughput`): `wharfinger serve` in its own process, `wrk` in another posting
envelopes of several events each over many connections at once (a registry batches events per
envelope and keeps a queue per endpoint; several registries or endpoints post concurrently). The
events are the real ones captured from Distribution (shared/reference/registry-events), each with
a fresh id and, per pass through them, a repository of its own: manifest pushes create
repositories and tags, deletes remove them, manifest pulls and mounts go to the audit trail, blob
pushes and pulls are acknowledged without a record, as a registry's real mix. Counted: events
acknowledged (202, so durably appended or known not to need a record) per second; baseline in the
same run: the same load against a bare aiohttp handler that parses each event with the same
parser (`python -m bench.webhook bare PORT`) and stores nothing.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from tempfile import TemporaryDirectory

import aiohttp
from aiohttp import web

from bench.common import (
    ROOT,
    VENV_BIN,
    Row,
    cli,
    free_port,
    median,
    require_wrk,
    row,
    wait_ready,
)
from bench.stores import postgres_schema
from domain.notifications import BadNotice, parse_envelope, parse_event
from web.app import create_app
from web.appkeys import SERVICES
from web.registry_events import decode_envelope
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
    """Parse-only: the same JSON decoder, envelope and event parser as the real endpoint,
    nothing stored."""
    recorded = rejected = 0
    for raw in parse_envelope(decode_envelope(await request.read())):
        try:
            parse_event(raw)
            recorded += 1
        except BadNotice:
            rejected += 1
    return web.json_response({"recorded": recorded, "duplicates": 0, "ignored": 0,
                              "rejected": rejected}, status=202)


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


# -- throughput under concurrent load -------------------------------------------------------------

EVENTS = ROOT.parent / "shared" / "reference" / "registry-events" / "events.jsonl"
LUA = Path(__file__).with_name("intake_load.lua")


def _events_file() -> Path:
    for candidate in (Path(os.environ.get("WHARFINGER_REGISTRY_EVENTS", "")), EVENTS,
                      Path("/work/shared/reference/registry-events/events.jsonl")):
        if candidate.is_file():
            return candidate
    raise SystemExit("no captured registry events: set WHARFINGER_REGISTRY_EVENTS to "
                     "shared/reference/registry-events/events.jsonl")


def write_templates(path: Path) -> int:
    """The captured events as a Lua table of JSON strings, the id and each repository name
    replaced by placeholders the load script fills in; returns how many."""
    templates: list[str] = []
    repos: dict[str, int] = {}
    for line in _events_file().read_text().splitlines():
        for event in json.loads(line)["body"]["events"]:
            event["id"] = "@ID@"
            target = event["target"]
            for key in ("repository", "fromRepository"):
                if key in target:
                    number = repos.setdefault(target[key], len(repos))
                    target[key] = f"bench/@REPO@-{number}"
            target.pop("url", None)
            templates.append(json.dumps(event))
    path.write_text("return {\n" + "".join(f"  [==[{t}]==],\n" for t in templates) + "}\n")
    return len(templates)


def _wrk(url: str, secret: str, templates: Path, *, seconds: int, connections: int,
         per_envelope: int, run: str) -> dict[str, float]:
    env = {**os.environ, "INTAKE_TEMPLATES": str(templates), "INTAKE_SECRET": secret,
           "INTAKE_BATCH": str(per_envelope), "INTAKE_RUN": run}
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
                          "-s", str(LUA), url], env=env, capture_output=True, text=True,
                         check=True).stdout
    found = re.search(r"^INTAKE (\{.*\})$", out, re.MULTILINE)
    if found is None:
        raise RuntimeError(f"wrk printed no counts:\n{out}")
    counts: dict[str, float] = json.loads(found.group(1))
    if counts["failed"] or "Socket errors" in out or not counts["accepted"]:
        raise RuntimeError(f"intake load saw errors: {counts}\n{out}")
    counts["events_per_s"] = counts["accepted"] * per_envelope / counts["seconds"]
    counts["recorded_per_s"] = counts["recorded"] / counts["seconds"]
    return counts


def _timed(pid: int, load: Callable[[], dict[str, float]]) -> dict[str, float]:
    """`load`'s counts plus the CPU the server process used per event acknowledged: on a
    shared machine the rate follows the CPU share the server gets, its cost per event much
    less (threads included; the database server's own CPU is not)."""
    before = _cpu_seconds(pid)
    counts = load()
    events = counts["accepted"] * counts["per_envelope"]
    counts["cpu_us_per_event"] = (_cpu_seconds(pid) - before) * 1e6 / events
    return counts


def _cpu_seconds(pid: int) -> float:
    """User and system CPU of a process so far (/proc/PID/stat, Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _serve(work: Path, database_url: str | None) -> tuple[subprocess.Popen[bytes], int, str]:
    env = {"PATH": os.environ["PATH"], "WHARFINGER_DATA_DIR": str(work / "data"),
           "WHARFINGER_BACKGROUND_SYNC_ENABLED": "false"}
    if database_url:
        env["WHARFINGER_DATABASE_URL"] = database_url
    cli(env, "registry", "create", "--name", "bench", "--hostname", "registry.bench:5000")
    port = free_port()
    server = subprocess.Popen([str(VENV_BIN / "wharfinger"), "serve", "--listen",
                               f"127.0.0.1:{port}"], env=env, stdout=subprocess.DEVNULL)
    wait_ready(f"http://127.0.0.1:{port}/api/v1/_ping")
    secret = (work / "data" / "keys" / "notification.secret").read_text().strip()
    return server, port, secret


def _throughput(work: Path, database_url: str | None, *, runs: int, seconds: int,
                connections: int, per_envelope: int) -> tuple[list[dict[str, float]],
                                                              list[dict[str, float]]]:
    templates = work / "intake_events.lua"
    write_templates(templates)
    bare_port = free_port()
    bare = subprocess.Popen([sys.executable, "-m", "bench.webhook", "bare", str(bare_port)],
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    server, port = None, 0
    try:
        server, port, secret = _serve(work, database_url)
        wait_ready(f"http://127.0.0.1:{bare_port}/ping")
        url = f"http://127.0.0.1:{port}/v2/webhooks/events"
        bare_url = f"http://127.0.0.1:{bare_port}/events"
        options = {"connections": connections, "per_envelope": per_envelope}
        _wrk(url, secret, templates, seconds=2, run="warm", **options)
        ours, base = [], []
        for i in range(runs):
            ours.append(_timed(server.pid, functools.partial(
                _wrk, url, secret, templates, seconds=seconds, run=f"run{i}", **options)))
            base.append(_timed(bare.pid, functools.partial(
                _wrk, bare_url, secret, templates, seconds=seconds, run=f"bare{i}", **options)))
        return ours, base
    finally:
        for process in (server, bare):
            if process is not None:
                process.terminate()
                process.wait(15)


def throughput(backends: tuple[str, ...] = ("sqlite", "postgresql"), runs: int = 3,
               seconds: int = 5, connections: int = 16, per_envelope: int = 10) -> list[Row]:
    """Rows for `python -m bench`: events per second through `POST /v2/webhooks/events`."""
    require_wrk()
    rows = []
    for backend in backends:
        work = Path(tempfile.mkdtemp(prefix="wharfinger-bench-"))
        try:
            if backend == "sqlite":
                ours, base = _throughput(work, None, runs=runs, seconds=seconds,
                                         connections=connections, per_envelope=per_envelope)
            else:
                with postgres_schema() as url:
                    ours, base = _throughput(work, url, runs=runs, seconds=seconds,
                                             connections=connections,
                                             per_envelope=per_envelope)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        rows.append(row(
            "webhook intake",
            f"events/s, {per_envelope} per envelope, {connections} connections, {backend}",
            value=median(r["events_per_s"] for r in ours), unit="events/s",
            baseline=median(r["events_per_s"] for r in base),
            baseline_name="bare aiohttp handler, same parser, no storage",
            target=">= 5000 events/s",
            recorded_per_s=round(median(r["recorded_per_s"] for r in ours)),
            p50_ms=round(median(r["p50_ms"] for r in ours), 2),
            p99_ms=round(median(r["p99_ms"] for r in ours), 2),
            cpu_us_per_event=round(median(r["cpu_us_per_event"] for r in ours)),
            bare_cpu_us_per_event=round(median(r["cpu_us_per_event"] for r in base)),
            duplicates=sum(int(r["duplicates"]) for r in ours)))
    return rows


def _serve_bare(port: int) -> None:
    async def ping(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application(client_max_size=MAX_ENVELOPE)
    app.router.add_post("/events", _bare)
    app.router.add_get("/ping", ping)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


MAX_ENVELOPE = 1024 * 1024

if __name__ == "__main__":
    if sys.argv[1:2] == ["bare"]:
        _serve_bare(int(sys.argv[2]))
    else:
        from bench.common import print_table

        print_table(throughput())
