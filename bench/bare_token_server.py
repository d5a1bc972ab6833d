"""The baseline: a bare token server (aiohttp + pyjwt, same ES256 key), with no authentication,
authorization or recording. Wharfinger's token endpoint is measured as a ratio of this."""

from __future__ import annotations

import secrets
import sys
import time
from pathlib import Path

import jwt
from aiohttp import web

from web.token.keys import load_or_create_signing_key


def make_app(keys_dir: Path) -> web.Application:
    key = load_or_create_signing_key(keys_dir)

    async def token(request: web.Request) -> web.Response:
        now = int(time.time())
        scope = request.query.get("scope", "")
        rtype, _, rest = scope.partition(":")
        name, _, actions = rest.rpartition(":")
        claims = {"iss": "bench", "sub": "", "aud": request.query.get("service", ""),
                  "exp": now + 900, "nbf": now, "iat": now, "jti": secrets.token_urlsafe(24),
                  "access": [{"type": rtype, "name": name, "actions": actions.split(",")}]}
        signed = jwt.encode(claims, key.private_key, algorithm="ES256",
                            headers={"kid": key.kid, "x5c": list(key.x5c)})
        return web.json_response({"token": signed, "access_token": signed, "expires_in": 900,
                                  "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                             time.gmtime(now))})

    app = web.Application()
    app.router.add_get("/v2/token", token)
    return app


if __name__ == "__main__":
    web.run_app(make_app(Path(sys.argv[1])), host="127.0.0.1", port=int(sys.argv[2]),
                print=None, access_log=None)
