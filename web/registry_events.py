"""`POST /v2/webhooks/events`: the registry's notifications (docker-token-auth.md §1.6, §3.8).

The registry sends the `Authorization` header that `wharfinger registry-config` printed; anything
else is 401 and nothing is recorded. The answer is 2xx only once every event is durably appended
(the registry keeps undelivered events in memory and retries them), and a redelivered event is
recorded once. An envelope that cannot be understood is a 4xx; in an envelope that can, bad events
are logged and skipped and the good ones recorded. Concurrent envelopes share transactions
(web.notice_intake).
"""

from __future__ import annotations

import contextlib
import hmac
import logging
from collections import Counter
from typing import Any

import orjson
from aiohttp import web

from domain.notifications import BadNotice, RegistryNotice, parse_envelope, parse_event
from projections.follower import ProjectionBehindError
from web.appkeys import SERVICES
from web.errors import json_error

log = logging.getLogger(__name__)

MEDIA_TYPES = frozenset({
    "application/vnd.docker.distribution.events.v1+json",
    "application/vnd.docker.distribution.events.v2+json",
    "application/json",
})
MAX_BODY_BYTES = 1024 * 1024

routes = web.RouteTableDef()


@routes.post("/v2/webhooks/events")
async def receive_events(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    expected = f"Bearer {services.notification_secret}".encode()
    given = request.headers.get("Authorization", "").encode()
    if not hmac.compare_digest(given, expected):
        return json_error(401, "the notification secret is missing or wrong")
    if request.content_type not in MEDIA_TYPES:
        return json_error(415, f"unsupported media type {request.content_type[:100]!r}; send "
                          "application/vnd.docker.distribution.events.v1+json")
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return json_error(413, f"the envelope is larger than {MAX_BODY_BYTES} bytes")
    raw = await _read_body(request)
    if raw is None:
        return json_error(413, f"the envelope is larger than {MAX_BODY_BYTES} bytes")
    try:
        body = decode_envelope(raw)
    except ValueError:
        return json_error(400, "the envelope is not valid JSON")
    try:
        raw_events = parse_envelope(body)
    except BadNotice as e:
        return json_error(400, str(e))
    notices: list[RegistryNotice] = []
    rejected: list[str] = []
    for index, raw_event in enumerate(raw_events):
        try:
            notices.append(parse_event(raw_event))
        except BadNotice as e:
            rejected.append(f"event {index}: {e}")
            log.warning("registry notification: skipped event %d: %s", index, e)
    if rejected and not notices:
        return json_error(400, "; ".join(rejected[:10]))
    try:
        outcomes, position = await services.intake.record(notices)
    except Exception:
        log.exception("registry notification: could not record; the registry will retry")
        return json_error(503, "the events could not be recorded; retry",
                          headers={"Retry-After": "1"})
    if position:
        # Durable already: answer 202 even if this node's read model lags (it catches up).
        with contextlib.suppress(ProjectionBehindError):
            await services.follower.wait_for(position, timeout=2.0)
    for _, fact in outcomes:
        if fact is not None:
            services.catalog.note_fact(fact)
    counts = Counter(outcome for outcome, _ in outcomes)
    return web.json_response({"recorded": counts["recorded"], "duplicates": counts["duplicate"],
                              "ignored": counts["ignored"], "rejected": rejected}, status=202)


def decode_envelope(raw: bytes) -> Any:
    """The envelope's JSON (RFC 8259: UTF-8); ValueError if it is not JSON.

    orjson, not the standard library's json: decoding the envelope was 6% of the server's CPU
    under registry intake (issue 8; 128 us against 46 us for ten captured Distribution events
    here). It also refuses what json.loads would let through or fail on: text that is not
    UTF-8, NaN, integers beyond 64 bits, and nesting deeper than 1024 (a RecursionError, so a
    500, from json.loads)."""
    return orjson.loads(raw)


async def _read_body(request: web.Request) -> bytes | None:
    """The whole body, or None once it passes the cap (`read(n)` returns what has arrived,
    which may be less than n: loop until the end)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(64 * 1024)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
