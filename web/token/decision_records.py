"""Decision records for `/v2/token`: what was asked, by whom, from where, and what was decided.

Every request that reaches a decision (a token, or a refusal of its credentials) is recorded in
the audit trail before the response is sent; if it cannot be, the caller answers 503 and sends no
token (issue 5, point 2). Records go through the group commit, so concurrent requests share a
transaction. They are built as stored rows directly (eventstore.fact_rows: the same bytes the
mapper would write, without the event object and the transcoder's callbacks on the event loop).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from aiohttp import web

from domain.actors import ANONYMOUS
from domain.decisions import ISSUED, REFUSED
from web.authentication import Authenticated
from web.errors import json_error
from web.services import Services
from web.token.memo import Decided
from web.token.signed_records import Claims

MAX_HEADER = 512


class DecisionNotRecordedError(Exception):
    """The audit trail refused the record: answer 503, issue nothing."""


async def _record(services: Services, request: web.Request, claims: Claims | None,
                  **fields: Any) -> object:
    headers = request.headers
    try:
        row = services.decision_rows.row(
            client_address=request.remote or "",
            forwarded_for=headers.get("X-Forwarded-For", "")[:MAX_HEADER],
            user_agent=headers.get("User-Agent", "")[:MAX_HEADER], **fields)
        return await services.decisions.record((row, claims))
    except Exception as e:
        raise DecisionNotRecordedError(str(e)) from e


async def record_issued(services: Services, request: web.Request, auth: Authenticated | None,
                        service: str, decided: Decided, *, record_id: UUID,
                        expires_at: int, claims: Claims) -> str:
    """Record a token about to be issued and return it, signed once its record is durable
    (web.token.signed_records). Its `jti` is `record_id.hex`: a token's id is its decision
    record's id, so explaining a token is one key lookup in the audit trail
    (eventstore.lookup), with no index to keep current as records stream in."""
    subject = auth.user.username if auth else ""
    token = await _record(
        services, request, claims, fact_id=record_id, actor=subject or ANONYMOUS, subject=subject,
        subject_id=str(auth.user.id) if auth else "",
        credential=auth.kind.value if auth else ANONYMOUS, service=service,
        requested=decided.requested, granted=decided.granted_text, reasons=decided.reasons,
        outcome=ISSUED, refusal="", jti=record_id.hex,
        expires_at=datetime.fromtimestamp(expires_at, UTC))
    if isinstance(token, Exception):
        raise token  # recorded, but not signable: a bug, answered as one (500)
    if not isinstance(token, str):
        raise TypeError(f"the decision writer returned {type(token).__name__}, not a token")
    return token


async def record_refused(services: Services, request: web.Request, *, username: str,
                         credential: str, service: str, requested: list[str],
                         refusal: str) -> None:
    user = services.index.user_named(username) if username else None
    await _record(
        services, request, None, actor=ANONYMOUS, subject=username[:255],
        subject_id=str(user.id) if user else "", credential=credential, service=service,
        requested=requested, granted=[], reasons={}, outcome=REFUSED, refusal=refusal, jti="",
        expires_at=None)


def not_recorded_response() -> web.Response:
    return json_error(503, "The decision could not be recorded in the audit trail;"
                           " no token was issued. Retry shortly.", headers={"Retry-After": "2"})
