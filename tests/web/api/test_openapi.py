"""The OpenAPI document is valid OpenAPI 3.1, served as is, and lists every API route."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

from tests.web.api.helpers import Api
from tests.web.api.openapi_check import DOCUMENT, operation_for


async def test_document_is_valid_and_served(api: Api) -> None:
    validate(DOCUMENT)  # type: ignore[arg-type]
    served = await api.ok("GET", "/api/openapi.json", who=None)
    assert served == DOCUMENT


async def test_every_api_route_is_documented(api: Api) -> None:
    missing = []
    for route in api.client.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter", "")
        if not path.startswith("/api") or route.method == "HEAD":
            continue
        probe = re.sub(r"\{[^}]+\}", "1", path)
        if operation_for(route.method, probe) is None:
            missing.append(f"{route.method} {path}")
    assert not missing, f"document these routes in web/api/openapi.py PATHS: {missing}"


async def test_every_export_format_of_the_feed_matches_the_document(api: Api) -> None:
    for fmt in ("json", "csv", "jsonl", "ocsf"):
        response = await api.call("GET", f"/api/v1/activities?format={fmt}")  # checks it
        assert response.status == 200, fmt
