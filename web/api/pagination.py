"""Portus API v1 lists: ordering (`sort_attr`, `sort_order`) and pages (`page`, `per_page`, `all`)
with the `X-*` and `Link` headers of grape-kaminari (portus.md §1.12)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from domain.errors import InvalidInputError

DEFAULT_PER_PAGE = 15
MAX_PER_PAGE = 1000
_TRUE = {"true", "1", "yes", "t"}
_FALSE = {"false", "0", "no", "f", ""}


def _positive_int(request: web.Request, name: str, default: int, maximum: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise InvalidInputError(f"must be an integer between 1 and {maximum}", field=name)
    return int(raw)


def _all(request: web.Request) -> bool:
    raw = request.query.get("all")
    if raw is None:
        return False
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise InvalidInputError("is invalid", field="all")


def _sort_key(value: Any) -> tuple[int, Any]:
    # None sorts first; mixed types sort by their string form instead of failing.
    if value is None:
        return (0, "")
    if isinstance(value, bool | int | float):
        return (1, value)
    return (2, str(value))


def ordered(request: web.Request, items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """`sort_attr` is any top-level scalar attribute of the entity (else `id`); `sort_order` is
    `asc` or, for anything else, descending, as in Portus."""
    attr = request.query.get("sort_attr", "id")
    if items and not (attr in items[0] and not isinstance(items[0][attr], dict | list)):
        attr = "id"
    descending = request.query.get("sort_order", "asc").lower() != "asc"
    return sorted(items, key=lambda item: _sort_key(item.get(attr)), reverse=descending)


def paginated(request: web.Request, items: Sequence[dict[str, Any]]) -> web.Response:
    """Order, cut a page and answer with the pagination headers."""
    page = _positive_int(request, "page", 1, 10**9)
    per_page = _positive_int(request, "per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)
    everything = _all(request)
    rows = ordered(request, items)
    total = len(rows)
    if everything:
        per_page, page = max(total, 1), 1
    pages = max(math.ceil(total / per_page), 1)
    chunk = rows[(page - 1) * per_page: page * per_page]
    headers = {"X-Total": str(total), "X-Total-Pages": str(pages), "X-Per-Page": str(per_page),
               "X-Page": str(page),
               "X-Next-Page": str(page + 1) if page < pages else "",
               "X-Prev-Page": str(page - 1) if 1 < page <= pages + 1 else ""}
    links = []
    for rel, number in (("first", 1), ("prev", page - 1), ("next", page + 1), ("last", pages)):
        if rel == "prev" and not 1 <= number <= pages:
            continue
        if rel == "next" and number > pages:
            continue
        query = {**request.query, "page": str(number), "per_page": str(per_page)}
        query.pop("all", None)
        links.append(f'<{request.url.with_query(None)}?{urlencode(query)}>; rel="{rel}"')
    headers["Link"] = ", ".join(links)
    return web.json_response(chunk, headers=headers)
