"""The console's shared parts: the template environment and the key that signs CSRF tokens."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

HERE = Path(__file__).parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"


def template_environment() -> Environment:
    """Autoescaping on for every template: user text (names, descriptions, comments) is always
    HTML-escaped where it is shown. StrictUndefined turns a typo into an error, not a blank."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@dataclass(frozen=True)
class Console:
    templates: Environment
    csrf_key: bytes

    def csrf_token(self, binding: str) -> str:
        """A token bound to the session (or to the anonymous visitor's cookie), so a token
        taken from one visitor's page is worthless in another's."""
        return hmac.new(self.csrf_key, b"csrf|" + binding.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, binding: str, token: str) -> bool:
        return hmac.compare_digest(self.csrf_token(binding), token)
