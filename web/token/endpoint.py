"""The Docker token endpoint (Distribution docs/spec/auth/token.md and oauth.md).

`GET /v2/token` (Basic auth or anonymous) and `POST /v2/token` (OAuth2 password and refresh-token
grants) answer with a JWT the registry trusts. Deny is not an error: the token carries the granted
subset of what was asked, maybe nothing (docker-token-auth.md §0.2). Deciding reads only the
in-memory projection; only a password check leaves the event loop (argon2 in the pool).
"""

from __future__ import annotations

import functools
import re
import time
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii
from urllib.parse import parse_qs

from aiohttp import web

from domain.errors import AccountDisabledError, InvalidInputError
from domain.ids import time_ordered_id
from domain.policy import Principal
from domain.scopes import Scope
from web.appkeys import SERVICES
from web.authentication import (
    Authenticated,
    InvalidCredentialsError,
    authenticate_refresh_token,
)
from web.basic_auth import parse_basic
from web.errors import json_error
from web.password_check import AccountLockedError
from web.services import Services
from web.token.decision_records import (
    DecisionNotRecordedError,
    not_recorded_response,
    record_issued,
    record_refused,
)
from web.token.memo import parse_scope_values

MAX_QUERY_LENGTH = 8192
MAX_FORM_BYTES = 16 * 1024
_CONTROL = re.compile("[\x00-\x1f]")
"""A control character: a scanned regex, where a per-character generator cost ~3% of a
refresh-token request (its token is a few hundred characters)."""
BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="Wharfinger"'}

routes = web.RouteTableDef()


@routes.get("/v2/token")
async def get_token(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    if len(request.query_string) > MAX_QUERY_LENGTH:
        raise InvalidInputError(f"query string is longer than {MAX_QUERY_LENGTH} characters")
    query = request.query
    service = _one(query.getall("service", []), "service")
    scopes = parse_scope_values(tuple(query.getall("scope", ())))
    offline = query.get("offline_token", "").lower() == "true"
    credentials = parse_basic(request.headers.get("Authorization"))
    services.follower.ensure_current()
    try:
        try:
            auth = (await services.passwords.authenticate(*credentials, channel="token")
                    if credentials else None)
        except (InvalidCredentialsError, AccountDisabledError, AccountLockedError) as e:
            await record_refused(services, request, username=credentials[0] if credentials
                                 else "", credential="password", service=service,
                                 requested=[str(s) for s in scopes], refusal=e.message)
            return json_error(401, e.message, headers=BASIC_CHALLENGE)
        return await _issue(services, request, auth, service, scopes,
                            refresh=offline and auth is not None)
    except DecisionNotRecordedError:
        return not_recorded_response()


@routes.post("/v2/token")
async def post_token(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    form = await _read_form(request)
    grant_type = _one(form.get("grant_type", []), "grant_type")
    service = _one(form.get("service", []), "service")
    scopes = parse_scope_values(tuple(form.get("scope", ())))
    services.follower.ensure_current()
    username, credential = "", "refresh_token"
    try:
        if grant_type == "password":
            username, credential = _one(form.get("username", []), "username"), "password"
            password = _one(form.get("password", []), "password")
            auth = await services.passwords.authenticate(username, password, channel="token")
            offline = form.get("access_type", [""])[0] == "offline"
        elif grant_type == "refresh_token":
            token = _one(form.get("refresh_token", []), "refresh_token")
            auth = authenticate_refresh_token(services.index, services.refresh_tokens, token,
                                              service)
            offline = False
        else:
            raise InvalidInputError(
                f"unsupported grant_type {grant_type[:40]!r}; use password or refresh_token",
                field="grant_type")
    except (InvalidCredentialsError, AccountDisabledError, AccountLockedError) as e:
        try:
            await record_refused(services, request, username=username, credential=credential,
                                 service=service, requested=[str(s) for s in scopes],
                                 refusal=e.message)
        except DecisionNotRecordedError:
            return not_recorded_response()
        return json_error(401, e.message, field=e.field)
    try:
        return await _issue(services, request, auth, service, scopes, refresh=offline,
                            with_scope=True)
    except DecisionNotRecordedError:
        return not_recorded_response()


@routes.get("/v2/")
async def ping(request: web.Request) -> web.Response:
    """Portus's `GET /v2/`: 200 for valid Basic credentials, 401 otherwise."""
    services = request.app[SERVICES]
    services.follower.ensure_current()
    try:
        credentials = parse_basic(request.headers.get("Authorization"))
        if credentials is None:
            raise InvalidCredentialsError("authentication required")
        await services.passwords.authenticate(*credentials, channel="token")
    except (InvalidCredentialsError, AccountDisabledError, AccountLockedError,
            InvalidInputError) as e:
        return json_error(401, e.message, headers=BASIC_CHALLENGE)
    return web.json_response({})


async def _issue(services: Services, request: web.Request, auth: Authenticated | None,
                 service: str, scopes: tuple[Scope, ...], *, refresh: bool,
                 with_scope: bool = False) -> web.Response:
    """The token response; the decision is recorded before it is made
    (DecisionNotRecordedError if it cannot be), and the token signed beside the loop once it
    is (web.token.signed_records). `with_scope`: the OAuth2 answer's granted `scope`."""
    principal: Principal | None = auth.user.principal() if auth else None
    decided = services.decision_memo.decide(principal, service, scopes)
    now = int(time.time())
    lifetime = services.settings.token_lifetime_seconds
    # The token's id is its decision record's id (web.token.decision_records), time-ordered
    # (domain.ids), in hex so it never starts with "-", which a shell or the CLI would take for
    # an option (`wharfinger audit explain-token <jti>`).
    token = await record_issued(services, request, auth, service, decided,
                                record_id=time_ordered_id(), issued_at=now,
                                expires_at=now + lifetime)
    refresh_token = (services.refresh_tokens.issue(auth.user.id, auth.user.credentials_version,
                                                   service)
                     if refresh and auth is not None else None)
    return web.Response(text=token_body(token, lifetime, _issued_at(now), refresh_token,
                                        decided.scope_text if with_scope else None),
                        content_type="application/json")


def token_body(token: str, expires_in: int, issued_at: str, refresh_token: str | None = None,
               scope: str | None = None) -> str:
    """The JSON answer (token.md "Token Response Fields"; oauth.md for `refresh_token` and
    `scope`), written as text: `json.dumps` of the same dict scanned the token, over a
    kilobyte with its certificate, twice. A compact JWS is base64url and dots, which JSON
    never escapes; the other strings are escaped as `json.dumps` would."""
    text = (f'{{"token":"{token}","access_token":"{token}","expires_in":{int(expires_in)},'
            f'"issued_at":{encode_basestring_ascii(issued_at)}')
    if refresh_token is not None:
        text += f',"refresh_token":{encode_basestring_ascii(refresh_token)}'
    if scope is not None:
        text += f',"scope":{encode_basestring_ascii(scope)}'
    return text + "}"


@functools.lru_cache(maxsize=4)
def _issued_at(now: int) -> str:
    # Formatting a datetime was 2% of a token request; `now` changes once a second.
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _one(values: list[str], name: str) -> str:
    if not values or not values[0]:
        raise InvalidInputError("is required", field=name)
    if len(values) > 1:
        raise InvalidInputError("must be given once", field=name)
    if len(values[0]) > 1024 or _CONTROL.search(values[0]):
        raise InvalidInputError("is malformed", field=name)
    return values[0]


async def _read_form(request: web.Request) -> dict[str, list[str]]:
    """The OAuth2 form, chunked or not (containers/image sends it chunked, §3.4)."""
    if request.content_type != "application/x-www-form-urlencoded":
        raise InvalidInputError("must be application/x-www-form-urlencoded",
                                field="content-type")
    body = await request.content.read(MAX_FORM_BYTES + 1)
    if len(body) > MAX_FORM_BYTES:
        raise InvalidInputError(f"form is larger than {MAX_FORM_BYTES} bytes")
    try:
        text = body.decode("utf-8")
        return parse_qs(text, keep_blank_values=True, strict_parsing=False,
                        max_num_fields=64)
    except (UnicodeDecodeError, ValueError):
        raise InvalidInputError("form is not valid UTF-8 url-encoded text") from None

