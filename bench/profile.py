"""Where a token request's time goes: py-spy samples a loaded `wharfinger serve`.

    python -m bench.profile [--seconds 12] [--scenario app-token|anonymous]

Starts a throwaway instance (SQLite), drives it with `wrk` (32 connections), records the server's
threads with py-spy for `--seconds` and prints (1) the functions with the most samples of
their own, (2) the handler's time split by callee. Needs the `bench` extra (py-spy) and
permission to ptrace the child (root, or kernel.yama.ptrace_scope=0). Idle time (epoll, idle pool
workers) is excluded, so shares are of the time the process was busy, on any thread (decision
records are written by a pool thread, which holds the GIL while it encodes them).
"""

from __future__ import annotations

import argparse
import base64
import collections
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench.common import VENV_BIN
from bench.token_endpoint import SERVICE, start_server

_FRAME = re.compile(r"(.*) \((.*):(\d+)\)")


def _name(frame: str) -> str:
    m = _FRAME.match(frame)
    if not m:
        return frame
    path = m.group(2).split("site-packages/")[-1]
    return f"{m.group(1)} ({path.split('/wt-')[-1]})"


def summarise(raw: str, top: int = 20) -> str:
    own: collections.Counter[str] = collections.Counter()
    handler: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = stack.split(";")
        if frames[-1].startswith("_worker (") or "EpollSelector.select" in frames[-1]:
            continue  # idle: a pool worker waiting for work, the loop waiting for sockets
        total += n
        own[_name(frames[-1])] += n
        for i, frame in enumerate(frames):
            if frame.startswith(("get_token ", "post_token ")):
                callee = frames[i + 1].split(" (")[0] if i + 1 < len(frames) else "<self>"
                handler[callee] += n
                break
    lines = [f"{total} busy samples (event loop and pool threads)", "", "self time:"]
    lines += [f"  {100 * n / total:5.1f}%  {f}" for f, n in own.most_common(top)]
    lines += ["", "inside the token handler, by callee (share of all samples):"]
    lines += [f"  {100 * n / total:5.1f}%  {f}" for f, n in handler.most_common(top)]
    lines.append(f"  {100 * sum(handler.values()) / total:5.1f}%  (handler total; the rest is"
                 " aiohttp's protocol, socket writes and the event loop)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("--seconds", type=int, default=12)
    parser.add_argument("--scenario", choices=("app-token", "anonymous"), default="app-token")
    args = parser.parse_args()
    py_spy = shutil.which("py-spy") or str(VENV_BIN / "py-spy")
    work = Path(tempfile.mkdtemp(prefix="wharfinger-profile-"))
    server, port, boot = start_server(work / "data")
    headers: list[str] = []
    scope = "repository:busybox:pull"
    if args.scenario == "app-token":
        basic = base64.b64encode(f"admin:{boot['plain_token']}".encode()).decode()
        headers = ["-H", f"Authorization: Basic {basic}"]
        scope = "repository:admin/app:pull,push"
    try:
        url = f"http://127.0.0.1:{port}/v2/token?service={SERVICE}&scope={scope}"
        load = subprocess.Popen(["wrk", "-t1", "-c32", f"-d{args.seconds + 4}s", *headers, url],
                                stdout=subprocess.PIPE, text=True)
        out = work / "profile.raw"
        subprocess.run([py_spy, "record", "-p", str(server.pid), "-d", str(args.seconds),
                        "-r", "200", "--format", "raw", "-o", str(out)],
                       check=True, capture_output=True)
        wrk_out, _ = load.communicate()
        rate = re.search(r"Requests/sec:\s+([\d.]+)", wrk_out)
        print(f"# {args.scenario}: {rate.group(1) if rate else '?'} req/s under py-spy")
        print(summarise(out.read_text()))
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
