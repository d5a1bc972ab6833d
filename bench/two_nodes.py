"""Propagation between nodes: a change committed to the shared PostgreSQL log, until another node's
token endpoint honours it (target: p99 ≤ 1 s).

Two `wharfinger serve` nodes share a fresh schema. A writer (this process, through the same write
application node A's API uses; the REST API for namespaces is not built yet) flips a namespace
between public and private; each node is then polled with an anonymous pull until its answer
changes. The baseline is the floor under any node's propagation: the time until PostgreSQL's
NOTIFY for the same commit reaches a bare LISTEN connection in this process.
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
from domain.values import Visibility
from eventstore.location import StoreLocation
from eventstore.open import open_log

SERVICE = "registry.bench:5000"


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
        store = open_log(location, Wharfinger, "events")
        a, b = (Node(n, env, Path(tmp) / f"{n}.log") for n in ("a", "b"))
        listener: Listener | None = None
        try:
            store.register_registry(name="bench", hostname=SERVICE)
            owner = store.register_user(username="owner", email="o@example.org",
                                        password_hash=None)
            team = store.create_team(name="prop", owner_id=owner.id)
            ns = store.create_namespace(name="prop", team_id=team.id,
                                        visibility=Visibility.PRIVATE)
            a.start(wait=False)
            b.start(wait=False)
            a.wait_ready()
            b.wait_ready()
            assert location.postgres is not None
            listener = Listener(location.postgres.conninfo(),
                                str(getattr(store.recorder, "channel_name", "")))
            notify_ms: list[float] = []
            seen_ms: dict[str, list[float]] = {"a": [], "b": []}
            public = False
            for _ in range(changes):
                public = not public
                want = ["pull"] if public else []
                started = time.perf_counter()
                store.change_visibility(
                    ns.id, Visibility.PUBLIC if public else Visibility.PRIVATE)
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
            store.close()
    floor = median(notify_ms)
    return [
        row("two nodes", f"write -> node B honours (p50 of {changes} changes)",
            value=median(seen_ms["b"]), unit="ms", better="lower", baseline=floor,
            baseline_name="NOTIFY reaches a bare LISTEN (p50)"),
        row("two nodes", f"write -> node B honours (p99 of {changes} changes)",
            value=percentile(seen_ms["b"], 0.99), unit="ms", better="lower",
            baseline=percentile(notify_ms, 0.99),
            baseline_name="NOTIFY reaches a bare LISTEN (p99)", target="p99 <= 1000 ms",
            max_ms=round(max(seen_ms["b"]), 1)),
        row("two nodes", f"write -> both nodes honour (p99 of {changes} changes)",
            value=percentile(seen_ms["a"], 0.99), unit="ms", better="lower"),
    ]


