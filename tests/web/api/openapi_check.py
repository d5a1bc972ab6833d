"""Checking a real API response against the OpenAPI document the service publishes."""

from __future__ import annotations

import json
import re
from typing import Any

from jsonschema import Draft202012Validator

from web.api.openapi import openapi_document

DOCUMENT = openapi_document()
_TEMPLATES = sorted(
    ((re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), path)
     for path in DOCUMENT["paths"]),
    key=lambda item: item[1].count("{"))  # literal paths before templated ones, like aiohttp


def operation_for(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    for pattern, template in _TEMPLATES:
        operation = DOCUMENT["paths"][template].get(method.lower())
        if operation is not None and pattern.match(path):
            return template, operation
    return None


def _validate(schema: dict[str, Any], value: Any, where: str) -> None:
    root = {**schema, "components": DOCUMENT["components"]}
    errors = sorted(Draft202012Validator(root).iter_errors(value), key=str)
    assert not errors, f"{where}: response breaks the document: {errors[0].message}"


def check_response(method: str, path: str, status: int, text: str,
                   headers: Any = None) -> None:
    """Fail unless `status` is documented for the operation and the body matches its schema.
    Requests to no documented operation must be JSON errors (404/405)."""
    where = f"{method} {path} -> {status}"
    assert status < 500 or status == 503, f"{where}: {text}"  # 503: fail closed, documented
    found = operation_for(method, path)
    if found is None:
        assert status in (404, 405), where
        _validate({"$ref": "#/components/schemas/Error"}, json.loads(text), where)
        return
    _, operation = found
    response = operation["responses"].get(str(status))
    assert response is not None, f"{where}: status not in the document: {text}"
    content = response.get("content")
    if content is None:
        assert text == "", f"{where}: undocumented body {text!r}"
        return
    media = (headers or {}).get("Content-Type", "application/json").split(";")[0].strip()
    assert media in content, f"{where}: undocumented content type {media}"
    if media != "application/json":
        return  # exports (CSV, JSON Lines) are checked by their own tests
    _validate(content[media]["schema"], json.loads(text), where)
    for name in response.get("headers", {}):
        assert headers is not None and name in headers, f"{where}: header {name} missing"
