"""Configuration: Portus's keys and defaults, a YAML file, environment overrides, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.values import PushPolicy
from web.settings import ConfigError, load_settings


def test_portus_defaults(tmp_path: Path) -> None:
    settings = load_settings({}, cwd=tmp_path)
    assert settings.data_dir == (tmp_path / "var").resolve()
    assert settings.issuer == "portus.test.lan"
    assert settings.token_lifetime_seconds == 15 * 60
    assert settings.access_rules.push_policy is PushPolicy.ALLOW_TEAMS
    assert settings["delete.enabled"] is True and settings["delete.contributors"] is False
    assert settings.database_url is None


def test_yaml_file_then_environment(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text(
        "machine_fqdn:\n  value: wharfinger.example.com\n"
        "delete:\n  enabled: false\n"
        "user_permission:\n  push_images:\n    policy: allow-personal\n"
        "oauth:\n  github:\n    enabled: false\n"  # Portus keys we do not use are accepted
        "ldap:\n  authentication:\n    password: s3cret\n")
    settings = load_settings({"WHARFINGER_CONFIG": str(config),
                              "WHARFINGER_DELETE_ENABLED": "true",
                              "WHARFINGER_REGISTRY_JWT_EXPIRATION_TIME_VALUE": "30"})
    assert settings.issuer == "wharfinger.example.com"
    assert settings["delete.enabled"] is True  # the environment wins over the file
    assert settings.access_rules.push_policy is PushPolicy.ALLOW_PERSONAL
    assert settings.token_lifetime_seconds == 30 * 60
    assert "s3cret" not in repr(settings["ldap.authentication.password"])
    assert "s3cret" not in repr(settings)


def test_database_url_is_never_printed(tmp_path: Path) -> None:
    settings = load_settings({"WHARFINGER_DATABASE_URL": "postgresql://u:hunter2@db/x"})
    assert "hunter2" not in repr(settings)


@pytest.mark.parametrize(("env", "message"), [
    ({"WHARFINGER_DELETE_ENABLED": "maybe"}, "WHARFINGER_DELETE_ENABLED: 'maybe' is not a boolean"),
    ({"WHARFINGER_USER_PERMISSION_PUSH_IMAGES_POLICY": "everyone"}, "allow-teams"),
    ({"WHARFINGER_REGISTRY_JWT_EXPIRATION_TIME_VALUE": "0"}, "at least 1"),
    ({"WHARFINGER_REGISTRY_JWT_EXPIRATION_TIME_VALUE": "ten"}, "not a whole number"),
    ({"WHARFINGER_DELETE_ENABLE": "true"}, "WHARFINGER_DELETE_ENABLE: unknown"),
    ({"WHARFINGER_TOKEN_SIGNING_ALGORITHM": "HS256"}, "ES256"),
])
def test_bad_environment_values_name_the_key(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(env)


@pytest.mark.parametrize(("text", "message"), [
    ("delete:\n  enabeld: true\n", "delete.enabeld: unknown"),
    ("- a\n- b\n", "must hold a mapping"),
    ("delete: [unclosed\n", "not valid YAML"),
    ("registry:\n  jwt_expiration_time:\n    value: [1]\n", "not a whole number"),
])
def test_bad_files_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "config.yml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings({"WHARFINGER_CONFIG": str(config)})


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings({"WHARFINGER_CONFIG": str(tmp_path / "nope.yml")})
