"""An open-loop, rate-limited HTTP/1.1 load generator (what `wrk2 -R` does; Debian's wrk lacks it).

Requests are scheduled at a fixed rate whatever the server does; each one's latency is measured
from its *scheduled* time, so a stalled server is charged for the requests that queued behind
the stall (no coordinated omission). Keep-alive connections, pre-built request bytes and minimal
response parsing keep the generator cheap. Run it in its own process:

    python -m bench.openloop HOST PORT RATE SECONDS CONNECTIONS METHOD PATH [HEADER...] [--body B]

It prints one JSON object: sent, ok, errors, p50_ms, p90_ms, p99_ms, max_ms, achieved rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


async def run(host: str, port: int, rate: float, seconds: float, connections: int,
              request: bytes) -> dict[str, float]:
    total = int(rate * seconds)
    interval = 1.0 / rate
    latencies: list[float] = []
    errors = 0
    next_index = 0
    start = time.perf_counter() + 0.2

    async def worker() -> None:
        nonlocal next_index, errors
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while next_index < total:
                i = next_index
                next_index += 1
                scheduled = start + i * interval
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                writer.write(request)
                status = await _read_response(reader)
                latencies.append(time.perf_counter() - scheduled)
                if status != 200:
                    errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - start
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 3)

    return {"sent": total, "ok": len(latencies) - errors, "errors": errors,
            "p50_ms": pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99),
            "max_ms": round(latencies[-1] * 1000, 3), "rate": round(total / elapsed, 1)}


def build_request(host: str, port: int, method: str, path: str, headers: list[str],
                  body: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", *headers]
    if body:
        lines.append(f"Content-Length: {len(body.encode())}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("rate", type=float)
    p.add_argument("seconds", type=float)
    p.add_argument("connections", type=int)
    p.add_argument("method")
    p.add_argument("path")
    p.add_argument("headers", nargs="*")
    p.add_argument("--body", default="")
    a = p.parse_args()
    request = build_request(a.host, a.port, a.method, a.path, a.headers, a.body)
    print(json.dumps(asyncio.run(run(a.host, a.port, a.rate, a.seconds, a.connections,
                                     request))))


if __name__ == "__main__":
    main()
