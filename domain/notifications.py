"""Registry notifications (Distribution notifications.md; docker-token-auth.md §1.6, §3.8).

Parsing is pure: a notification envelope's events become `RegistryNotice` values, or a reason why
an event cannot be understood. Which notices matter and what they record is decided by the
repository commands (domain.repositories).
"""

from __future__ import annotations

from typing import Any, NamedTuple

MANIFEST_MEDIA_TYPES = frozenset({
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
})
"""Manifest and index media types whose events are recorded (Docker schema 2, manifest list,
schema 1, OCI manifest and OCI index)."""

BLOB_MEDIA_TYPE = "application/octet-stream"
"""The registry does not know a layer's type, so blob events carry this (§3.8)."""

ACTIONS = frozenset({"push", "pull", "mount", "delete"})
MAX_FIELD = 4096


class BadNotice(ValueError):
    """An event in an envelope that cannot be understood; the message says why."""


class RegistryNotice(NamedTuple):
    """One registry event, reduced to what Wharfinger records.

    A named tuple, immutable as a frozen dataclass is, and built at a fifth of its cost (a
    frozen dataclass's __init__ sets its 18 fields one object.__setattr__ at a time: 3% of the
    server's CPU under registry intake, every event of every envelope)."""

    event_id: str
    action: str
    repository: str
    tag: str
    """"" when the event names no tag (push or delete by digest, blob events)."""
    digest: str
    media_type: str
    manifest_size: int
    image_size: int
    """The manifest plus what it references (config and layers) when the registry sends
    `references` (`includereferences: true`); else the manifest's own size."""
    actor: str
    """`actor.name`: the subject of the token the client used; "" for anonymous requests."""
    timestamp: str
    request_id: str
    client_addr: str
    user_agent: str
    method: str
    registry_host: str
    instance_id: str
    source_addr: str
    from_repository: str

    @property
    def is_blob(self) -> bool:
        return self.action in ("push", "pull", "mount") and (
            self.media_type == BLOB_MEDIA_TYPE or "/blobs/" in self.media_type)

    @property
    def is_manifest(self) -> bool:
        return self.media_type in MANIFEST_MEDIA_TYPES


def parse_envelope(body: object) -> list[dict[str, Any]]:
    """The raw events of an envelope `{"events": [...]}`; BadNotice if it is not one."""
    if not isinstance(body, dict) or "events" not in body:
        raise BadNotice('the body must be an envelope {"events": [...]}')
    events = body["events"]
    if not isinstance(events, list):
        raise BadNotice("events must be a list")
    return events  # each one is checked by parse_event


def parse_event(raw: object) -> RegistryNotice:
    """One event of an envelope; BadNotice names the first thing wrong with it."""
    if not isinstance(raw, dict):
        raise BadNotice("an event must be an object")
    event_id = _text(raw, "id", required=True)
    action = _text(raw, "action", required=True)
    if action not in ACTIONS:
        raise BadNotice(f"event {event_id}: unknown action {action!r}")
    target = _section(raw, "target", required=True)
    request = _section(raw, "request")
    source = _section(raw, "source")
    actor = _section(raw, "actor")
    repository = _text(target, "repository", required=True, where="target.")
    tag = _text(target, "tag", where="target.")
    digest = _text(target, "digest", where="target.")
    media_type = _text(target, "mediaType", where="target.")
    if action != "delete":
        if not digest:
            raise BadNotice(f"event {event_id}: target.digest is missing")
        if not media_type:
            raise BadNotice(f"event {event_id}: target.mediaType is missing")
        if media_type != BLOB_MEDIA_TYPE and media_type not in MANIFEST_MEDIA_TYPES:
            raise BadNotice(f"event {event_id}: unknown media type {media_type!r}")
    elif not digest and not tag:
        raise BadNotice(f"event {event_id}: a delete names neither a digest nor a tag")
    size = _size(target, "size") or _size(target, "length")
    references = target.get("references")
    image_size = size
    if isinstance(references, list) and references:
        image_size = size + sum(_size(r, "size") for r in references if isinstance(r, dict))
    return RegistryNotice(
        event_id=event_id, action=action, repository=repository, tag=tag, digest=digest,
        media_type=media_type, manifest_size=size, image_size=image_size,
        actor=_text(actor, "name"), timestamp=_text(raw, "timestamp"),
        request_id=_text(request, "id"), client_addr=_text(request, "addr"),
        user_agent=_text(request, "useragent"), method=_text(request, "method"),
        registry_host=_text(request, "host"), instance_id=_text(source, "instanceID"),
        source_addr=_text(source, "addr"),
        from_repository=_text(target, "fromRepository", where="target."))


def _section(raw: dict[str, Any], name: str, *, required: bool = False) -> dict[str, Any]:
    value = raw.get(name)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise BadNotice(f"{name} must be an object")
    return value


def _text(raw: dict[str, Any], name: str, *, required: bool = False, where: str = "") -> str:
    value = raw.get(name)
    if value is None or value == "":
        if required:
            raise BadNotice(f"{where}{name} is missing")
        return ""
    if not isinstance(value, str):
        raise BadNotice(f"{where}{name} must be a string")
    if len(value) > MAX_FIELD:
        raise BadNotice(f"{where}{name} is longer than {MAX_FIELD} characters")
    return value


def _size(raw: dict[str, Any], name: str) -> int:
    value = raw.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return 0
    return value
