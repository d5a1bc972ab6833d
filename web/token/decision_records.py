"""Decision records for `/v2/token`: what was asked, by whom, from where, and what was decided.

Every request that reaches a decision (a token, or a refusal of its credentials) is recorded in
the audit trail before the response is sent; if it cannot be, the caller answers 503 and sends no
token (issue 5, point 2). Records go through the group commit, so concurrent requests share a
transaction. They are built as stored rows directly (eventstore.fact_rows: the same bytes the
mapper would write, without the event object and the transcoder's callbacks on the event loop).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from aiohttp import web

from domain.actors import ANONYMOUS
from domain.decisions import ISSUED, REFUSED, TokenRequestDecided
from eventstore.fact_rows import RowTemplate
from web.authentication import Authenticated
from web.errors import json_error
from web.services import Services
from web.token.jwt import ClaimsTemplate
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
                        service: str, decided: Decided, *, record_id: UUID, issued_at: int,
                        expires_at: int) -> str:
    """Record a token about to be issued and return it, signed once its record is durable
    (web.token.signed_records). Its `jti` is `record_id.hex`: a token's id is its decision
    record's id, so explaining a token is one key lookup in the audit trail
    (eventstore.lookup), with no index to keep current as records stream in.

    What the record and the claims share with every other token of the same decision, service
    and kind of credential is encoded once and kept with the decision (web.token.memo), so it
    is dropped with it as soon as permissions change."""
    credential = auth.kind.value if auth else ANONYMOUS
    prepared = decided.prepare((credential, service, services.settings.issuer),
                               lambda: _prepare(services, auth, credential, service, decided))
    jti = record_id.hex
    claims = prepared.claims.claims(exp=expires_at, nbf=issued_at, iat=issued_at, jti=jti)
    headers = request.headers
    try:
        row = prepared.record.row(
            fact_id=record_id, client_address=request.remote or "",
            forwarded_for=headers.get("X-Forwarded-For", "")[:MAX_HEADER],
            user_agent=headers.get("User-Agent", "")[:MAX_HEADER], jti=jti,
            expires_at=_expiry(expires_at))
        token = await services.decisions.record((row, claims))
    except Exception as e:
        raise DecisionNotRecordedError(str(e)) from e
    if isinstance(token, Exception):
        raise token  # recorded, but not signable: a bug, answered as one (500)
    if not isinstance(token, str):
        raise TypeError(f"the decision writer returned {type(token).__name__}, not a token")
    return token


@dataclass(frozen=True, slots=True)
class _Prepared:
    record: RowTemplate[TokenRequestDecided]
    """The decision record's fields that every such token shares."""
    claims: ClaimsTemplate


def _prepare(services: Services, auth: Authenticated | None, credential: str, service: str,
             decided: Decided) -> _Prepared:
    # The decision is memoized per principal, so its user's name and id are the same on every
    # request that reaches it (the key adds what the principal does not fix).
    subject = auth.user.username if auth else ""
    return _Prepared(
        services.decision_rows.template(
            actor=subject or ANONYMOUS, subject=subject,
            subject_id=str(auth.user.id) if auth else "", credential=credential,
            service=service, requested=decided.requested, granted=decided.granted_text,
            reasons=decided.reasons, outcome=ISSUED, refusal=""),
        ClaimsTemplate(iss=services.settings.issuer, sub=subject, aud=service,
                       access=decided.access))


@functools.lru_cache(maxsize=4)
def _expiry(expires_at: int) -> datetime:
    # A token's expiry changes once a second.
    return datetime.fromtimestamp(expires_at, UTC)


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
