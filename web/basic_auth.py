"""Parsing `Authorization: Basic` (RFC 7617) strictly: malformed input is a 400, not a guess."""

from __future__ import annotations

import base64
import binascii

from domain.errors import InvalidInputError

MAX_HEADER_LENGTH = 4096


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """(username, password) from the header; None when there is no header (anonymous)."""
    if header is None:
        return None
    if len(header) > MAX_HEADER_LENGTH:
        raise InvalidInputError("Authorization header is too long", field="authorization")
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise InvalidInputError("only Basic authentication is accepted here",
                                field="authorization")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise InvalidInputError("Basic credentials are not valid base64 of UTF-8 text",
                                field="authorization") from None
    username, colon, password = decoded.partition(":")
    if not colon:
        raise InvalidInputError("Basic credentials must be username:password",
                                field="authorization")
    if not username:
        raise InvalidInputError("Basic credentials have an empty username",
                                field="authorization")
    return username, password
