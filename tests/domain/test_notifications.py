"""Parsing a registry event into a RegistryNotice (domain.notifications): what a notice keeps,
and that it cannot be changed once parsed (it is a named tuple, for speed: issue 8)."""

from __future__ import annotations

import pytest

from domain.notifications import BadNotice, RegistryNotice, parse_envelope, parse_event

PUSH = {
    "id": "e-1", "timestamp": "2026-11-26T16:32:53.655Z", "action": "push",
    "actor": {"name": "alice"},
    "target": {"mediaType": "application/vnd.oci.image.manifest.v1+json",
               "digest": "sha256:" + "a" * 64, "size": 401, "repository": "team/app",
               "tag": "v1", "references": [{"size": 1000}, {"size": 99}, "junk"]},
    "request": {"id": "r-1", "addr": "10.0.0.1:4242", "host": "registry:5000",
                "method": "PUT", "useragent": "skopeo/1.9.3"},
    "source": {"addr": "vm:5000", "instanceID": "i-1"},
}


def test_a_push_keeps_what_wharfinger_records() -> None:
    (raw,) = parse_envelope({"events": [PUSH]})
    notice = parse_event(raw)
    assert notice == RegistryNotice(
        event_id="e-1", action="push", repository="team/app", tag="v1",
        digest="sha256:" + "a" * 64, media_type="application/vnd.oci.image.manifest.v1+json",
        manifest_size=401, image_size=1500, actor="alice",
        timestamp="2026-11-26T16:32:53.655Z", request_id="r-1", client_addr="10.0.0.1:4242",
        user_agent="skopeo/1.9.3", method="PUT", registry_host="registry:5000",
        instance_id="i-1", source_addr="vm:5000", from_repository="")
    assert notice.is_manifest and not notice.is_blob
    assert hash(notice) == hash(parse_event(PUSH))


def test_a_notice_cannot_be_changed() -> None:
    notice = parse_event(PUSH)
    with pytest.raises(AttributeError):
        notice.repository = "other/app"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        notice.extra = 1  # type: ignore[attr-defined]
    assert notice.repository == "team/app"


@pytest.mark.parametrize(("change", "reason"), [
    ({"action": "promote"}, "unknown action"),
    ({"target": {"repository": "a", "mediaType": "x", "digest": "d"}}, "unknown media type"),
    ({"id": ""}, "id is missing"),
    ({"actor": "alice"}, "actor must be an object"),
])
def test_what_cannot_be_understood_says_why(change: dict[str, object], reason: str) -> None:
    with pytest.raises(BadNotice, match=reason):
        parse_event({**PUSH, **change})
