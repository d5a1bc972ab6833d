"""The registry configuration fragment: valid YAML, the values Distribution needs, nothing lost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from web.registry_config import registry_config_dict, registry_config_yaml

ARGS: dict[str, Any] = {
    "realm": "http://127.0.0.1:5080/v2/token",
    "service": "127.0.0.1:5000",
    "issuer": "wharfinger.test",
    "rootcertbundle": Path("/var/lib/wharfinger/keys/token-signing.crt"),
    "notification_url": "http://127.0.0.1:5080/v2/webhooks/events",
    "notification_secret": "s3cr3t-_value",
}


def test_the_fragment_is_what_distribution_expects() -> None:
    loaded = yaml.safe_load(registry_config_yaml(**ARGS))
    assert loaded == registry_config_dict(**ARGS)
    assert loaded["auth"] == {"token": {
        "realm": "http://127.0.0.1:5080/v2/token", "service": "127.0.0.1:5000",
        "issuer": "wharfinger.test", "rootcertbundle": "/var/lib/wharfinger/keys/token-signing.crt",
    }}
    assert loaded["notifications"] == {"events": {"includereferences": True}, "endpoints": [{
        "name": "wharfinger",
        "url": "http://127.0.0.1:5080/v2/webhooks/events",
        "headers": {"Authorization": ["Bearer s3cr3t-_value"]},  # values are lists (§1.5)
        "timeout": "2s", "threshold": 5, "backoff": "1s",
    }]}


def test_the_fragment_starts_with_instructions() -> None:
    text = registry_config_yaml(**ARGS)
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert text.startswith("#") and any("config.yml" in line for line in comments)
    assert text.index("\nauth:\n") > text.index(comments[-1])


def test_a_relative_bundle_is_made_absolute(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    loaded = yaml.safe_load(registry_config_yaml(**{**ARGS, "rootcertbundle": Path("k/c.crt")}))
    bundle = Path(loaded["auth"]["token"]["rootcertbundle"])
    assert bundle.is_absolute() and bundle == tmp_path.resolve() / "k" / "c.crt"


def test_an_absolute_bundle_is_kept_as_the_registry_sees_it() -> None:
    # The path inside the registry's container need not exist here.
    loaded = registry_config_dict(**{**ARGS, "rootcertbundle": Path("/certs/../certs/t.crt")})
    assert loaded["auth"]["token"]["rootcertbundle"] == "/certs/../certs/t.crt"  # type: ignore[index]


@pytest.mark.parametrize("awkward", [
    "yes", "no", "on", "null", "~", "1.0", "0x10", "2001:db8::1", "- item", "a: b", "# comment",
    "*alias", "&anchor", "!tag", "'quoted'", '"double"', "{x}", "[x]", "%percent", "@at", "`tick",
    " padded ", "multi\nline", "tab\there", "ünïcode", "0\x85", "a\u2028b", "x" * 5000,
    "long words " * 500,
])
def test_awkward_values_survive(awkward: str) -> None:
    args = {**ARGS, "service": awkward, "issuer": awkward, "notification_secret": awkward}
    assert yaml.safe_load(registry_config_yaml(**args)) == registry_config_dict(**args)


def test_long_values_stay_on_one_line() -> None:
    realm = "https://registry-auth.example.org/" + "segment/" * 30 + "v2/token"
    text = registry_config_yaml(**{**ARGS, "realm": realm})
    assert f"realm: {realm}\n" in text


@given(st.text(), st.text(), st.text())
@example("", "", "0\x85")  # found by Hypothesis: NEL came back as a space with allow_unicode
def test_any_text_round_trips(service: str, issuer: str, secret: str) -> None:
    args = {**ARGS, "service": service, "issuer": issuer, "notification_secret": secret}
    assert yaml.safe_load(registry_config_yaml(**args)) == registry_config_dict(**args)
