"""Calling the REST API as a user of the test world (`Portus-Auth: user:token`)."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from tests.web.api.openapi_check import check_response
from tests.web.world import World
from web.appkeys import SERVICES


class Api:
    def __init__(self, client: TestClient, world: World) -> None:  # type: ignore[type-arg]
        self.client, self.world = client, world

    def headers(self, who: str | None) -> dict[str, str]:
        return {"Portus-Auth": f"{who}:{self.world.tokens[who]}"} if who else {}

    async def call(self, method: str, path: str, who: str | None = "admin",
                   json: Any = None, **kw: Any) -> ClientResponse:
        """Every response is checked against the OpenAPI document (no 5xx, documented status,
        body matching its schema)."""
        response = await self.client.request(method, path, headers=self.headers(who),
                                             json=json, **kw)
        check_response(method, response.url.raw_path, response.status, await response.text(),
                       response.headers)
        return response

    async def ok(self, method: str, path: str, who: str | None = "admin", json: Any = None,
                 status: int = 200, **kw: Any) -> Any:
        response = await self.call(method, path, who, json, **kw)
        text = await response.text()
        assert response.status == status, f"{method} {path}: {response.status} {text}"
        return await response.json() if text else None

    def id_of(self, uuid: Any) -> int:
        number = self.client.app[SERVICES].directory.number_of(uuid)
        assert number is not None
        return number
