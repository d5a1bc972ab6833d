"""The baseline: a bare token server (aiohttp + pyjwt, same ES256 key), with no authentication,
authorization or recording. Wharfinger's token endpoint is measured as a ratio of this.

It answers `GET /v2/token` and the OAuth2 `POST /v2/token` form alike (the form is read and its
scope used), so each of Wharfinger's scenarios has a like-for-like baseline."""

from __future__ import annotations

import secrets
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import jwt
from aiohttp import web

from web.token.keys import load_or_create_signing_key


def make_app(keys_dir: Path) -> web.Application:
    key = load_or_create_signing_key(keys_dir)

    def issue(params: Mapping[str, str]) -> web.Response:
        now = int(time.time())
        scope = params.get("scope", "")
        rtype, _, rest = scope.partition(":")
        name, _, actions = rest.rpartition(":")
        claims = {"iss": "bench", "sub": "", "aud": params.get("service", ""),
                  "exp": now + 900, "nbf": now, "iat": now, "jti": secrets.token_urlsafe(24),
                  "access": [{"type": rtype, "name": name, "actions": actions.split(",")}]}
        signed = jwt.encode(claims, key.private_key, algorithm="ES256",
                            headers={"kid": key.kid, "x5c": list(key.x5c)})
        return web.json_response({"token": signed, "access_token": signed, "expires_in": 900,
                                  "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                             time.gmtime(now))})

    async def get_token(request: web.Request) -> web.Response:
        return issue(request.query)

    async def post_token(request: web.Request) -> web.Response:
        form = await request.post()
        return issue({k: str(v) for k, v in form.items()})

    app = web.Application()
    app.router.add_get("/v2/token", get_token)
    app.router.add_post("/v2/token", post_token)
    return app


if __name__ == "__main__":
    web.run_app(make_app(Path(sys.argv[1])), host="127.0.0.1", port=int(sys.argv[2]),
                print=None, access_log=None)
