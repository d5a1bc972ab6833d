"""Reading console forms: text fields with limits, and errors kept next to their field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from aiohttp import web

from domain.errors import DomainError
from web import field_limits


@dataclass
class Form:
    """What the user typed (shown again on error) and what is wrong with it, by field."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def error(self, name: str, message: str) -> None:
        self.errors[name] = message

    def fail(self, error: DomainError, *, default_field: str = "base") -> None:
        self.errors[error.field or default_field] = error.message

    @property
    def ok(self) -> bool:
        return not self.errors


async def read_form(request: web.Request, *fields: str, default_limit: int = field_limits.OTHER,
                    limits: Mapping[str, int] | None = None) -> Form:
    """The posted fields (stripped of nothing: passwords keep their spaces), each capped at its
    limit in `limits` (web.field_limits, as the API's), else at `max_length`."""
    data: Mapping[str, object] = await request.post()
    form = Form()
    for name in fields:
        max_length = (limits or {}).get(name, default_limit)
        value = data.get(name, "")
        if not isinstance(value, str):
            form.errors[name] = "must be text"
            value = ""
        if len(value) > max_length:
            form.errors[name] = f"is too long (maximum is {max_length} characters)"
            value = value[:max_length]
        form.values[name] = value
    return form


def see_other(location: str) -> web.HTTPSeeOther:
    """Post/redirect/get: a refreshed page never posts twice."""
    return web.HTTPSeeOther(location)
