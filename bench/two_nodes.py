"""Propagation between nodes: a change made through node A's REST API, until node B's token
endpoint honours it (target: p99 ≤ 1 s).

Two `wharfinger serve` nodes share a fresh PostgreSQL schema. Through node A's API a namespace is
flipped between public and private (`PUT /api/v1/namespaces/{id}`); from just before each request,
node B (then A) is polled with an anonymous pull until its answer changes. The baseline is the floor
under any propagation: the time until PostgreSQL's NOTIFY for the same commit reaches a bare LISTEN
connection in this process.
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

import psycopg
from psycopg import sql

from bench.common import Row, median, row
from bench.nodes import Node, wait_until
from bench.stores import postgres_schema
from domain.application import Wharfinger
from eventstore.location import StoreLocation
from eventstore.open import open_log

SERVICE = "registry.bench:5000"


def channel_of(location: StoreLocation) -> str:
    """The events table's NOTIFY channel, as the library names it."""
    store = open_log(location, Wharfinger, "events")
    try:
        return str(getattr(store.recorder, "channel_name", ""))
    finally:
        store.close()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


class Listener:
    """A bare LISTEN on the events channel, noting when each notification arrives."""

    def __init__(self, conninfo: str, channel: str) -> None:
        self.arrivals: list[float] = []
        self._conn = psycopg.connect(conninfo, autocommit=True)
        self._conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop:
            for _ in self._conn.notifies(timeout=0.2):
                self.arrivals.append(time.perf_counter())

    def first_after(self, t: float, timeout: float = 5) -> float:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            later = [a for a in self.arrivals if a > t]
            if later:
                return later[0]
            time.sleep(0.001)
        raise TimeoutError("no NOTIFY arrived")

    def close(self) -> None:
        self._stop = True
        self._thread.join(2)
        self._conn.close()


def main(changes: int = 100) -> list[Row]:
    with postgres_schema() as url, tempfile.TemporaryDirectory() as tmp:
        env = {"PATH": "/usr/bin:/bin", "WHARFINGER_DATA_DIR": f"{tmp}/data",
               "WHARFINGER_MACHINE_FQDN_VALUE": "bench.test", "WHARFINGER_DATABASE_URL": url}
        location = StoreLocation.from_settings(Path(tmp) / "data", url)
        a, b = (Node(n, env, Path(tmp) / f"{n}.log") for n in ("a", "b"))
        listener: Listener | None = None
        try:
            a.start(wait=False)
            b.start(wait=False)
            a.wait_ready()
            b.wait_ready()
            boot = a.request("POST", "/api/v1/users/bootstrap", json_body={
                "username": "admin", "email": "a@example.org", "password": "bench password 1"})
            auth = {"Portus-Auth": f"admin:{boot.body['plain_token']}"}
            for path, body in (("/api/v1/registries", {"name": "bench", "hostname": SERVICE}),
                               ("/api/v1/teams", {"name": "prop"}),
                               ("/api/v1/namespaces", {"name": "prop", "team": "prop"})):
                created = a.request("POST", path, headers=auth, json_body=body)
                if created.status != 201:
                    raise RuntimeError(f"POST {path}: {created.status} {created.body}")
            ns_id = created.body["id"]
            assert location.postgres is not None
            listener = Listener(location.postgres.conninfo(), channel_of(location))
            notify_ms: list[float] = []
            seen_ms: dict[str, list[float]] = {"a": [], "b": []}
            public = False
            for _ in range(changes):
                public = not public
                want = ["pull"] if public else []
                started = time.perf_counter()
                changed = a.request("PUT", f"/api/v1/namespaces/{ns_id}", headers=auth,
                                    json_body={"visibility": "public" if public else "private"})
                if changed.status != 200:
                    raise RuntimeError(f"PUT namespace: {changed.status} {changed.body}")
                for node in (b, a):  # B first: A is then measured a little late, never early
                    wait_until(lambda n=node, w=want: n.granted(  # type: ignore[misc]
                        SERVICE, "repository:prop/app:pull") == (200, w), 5, interval=0)
                    seen_ms[node.name].append((time.perf_counter() - started) * 1000)
                notify_ms.append((listener.first_after(started) - started) * 1000)
                time.sleep(0.02)
        finally:
            if listener is not None:
                listener.close()
            a.stop()
            b.stop()
    floor = median(notify_ms)
    return [
        row("two nodes", f"change via node A's API -> node B honours (p50, {changes} changes)",
            value=median(seen_ms["b"]), unit="ms", better="lower", baseline=floor,
            baseline_name="NOTIFY reaches a bare LISTEN (p50)"),
        row("two nodes", f"change via node A's API -> node B honours (p99, {changes} changes)",
            value=percentile(seen_ms["b"], 0.99), unit="ms", better="lower",
            baseline=percentile(notify_ms, 0.99),
            baseline_name="NOTIFY reaches a bare LISTEN (p99)", target="p99 <= 1000 ms",
            max_ms=round(max(seen_ms["b"]), 1)),
        row("two nodes", f"change via node A's API -> A honours too (p99, {changes} changes)",
            value=percentile(seen_ms["a"], 0.99), unit="ms", better="lower"),
    ]


