"""Configuration: read once at the edge into frozen values; nothing else reads the environment.

Sources, later ones winning: Portus-compatible defaults, the YAML file named by
`WHARFINGER_CONFIG`, then environment variables named `WHARFINGER_` + the key path upper-cased with
`.` turned into `_` (e.g. `WHARFINGER_DELETE_ENABLED=true`). Unknown keys and bad values stop
start-up with a message naming the key and what it accepts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from domain.values import AccessRules, PushPolicy
from web.config_schema import CHOICES, DEFAULTS, IGNORED_PREFIXES, MINIMUM, SECRET_KEYS

# Environment variables that are not configuration keys.
_RESERVED_ENV = {"WHARFINGER_CONFIG", "WHARFINGER_DATA_DIR", "WHARFINGER_DATABASE_URL",
                 "WHARFINGER_LISTEN", "WHARFINGER_LOG_LEVEL"}
_TRUE = {"true", "yes", "on", "1", "y", "t"}
_FALSE = {"false", "no", "off", "0", "n", "f", ""}


class ConfigError(ValueError):
    """A configuration key is unknown or has a bad value. The message names the key."""


class Secret(str):
    """A string whose repr never shows it (config.go's PasswordString in docker_auth)."""

    def __repr__(self) -> str:
        return "'***'"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: Secret | None
    values: Mapping[str, object] = field(repr=False)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def issuer(self) -> str:
        return str(self["machine_fqdn.value"])

    @property
    def token_lifetime_seconds(self) -> int:
        return int(self["registry.jwt_expiration_time.value"]) * 60

    @property
    def access_rules(self) -> AccessRules:
        return AccessRules(PushPolicy(self["user_permission.push_images.policy"]),
                           bool(self["delete.enabled"]), bool(self["delete.contributors"]))


def load_settings(env: Mapping[str, str], *, cwd: Path | None = None) -> Settings:
    """Build the settings from an environment mapping (pass `os.environ` at the very edge)."""
    values: dict[str, object] = dict(DEFAULTS)
    config_path = env.get("WHARFINGER_CONFIG")
    if config_path:
        for key, raw in _read_yaml(Path(config_path)).items():
            if key.startswith(IGNORED_PREFIXES):
                continue
            values[key] = _coerce(key, raw, source=f"{config_path}: {key}")
    for name, raw in env.items():
        if not name.startswith("WHARFINGER_") or name in _RESERVED_ENV:
            continue
        if name.startswith("WHARFINGER_TEST_"):
            continue
        key = _key_for_env(name)
        values[key] = _coerce(key, raw, source=name)
    base = cwd or Path.cwd()
    data_dir = Path(env.get("WHARFINGER_DATA_DIR") or "var")
    url = env.get("WHARFINGER_DATABASE_URL") or None
    return Settings((base / data_dir).resolve(), Secret(url) if url else None, values)


def _read_yaml(path: Path) -> dict[str, object]:
    try:
        tree = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"WHARFINGER_CONFIG: cannot read {path}: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"WHARFINGER_CONFIG: {path} is not valid YAML: {e}") from None
    if tree is None:
        return {}
    if not isinstance(tree, dict):
        raise ConfigError(f"WHARFINGER_CONFIG: {path} must hold a mapping of keys")
    flat: dict[str, object] = {}
    _flatten(tree, "", flat)
    return flat


def _flatten(node: dict[Any, Any], prefix: str, out: dict[str, object]) -> None:
    for k, v in node.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and key not in DEFAULTS:
            _flatten(v, key + ".", out)
        else:
            out[key] = v


def _key_for_env(name: str) -> str:
    wanted = name.removeprefix("WHARFINGER_")
    for key in DEFAULTS:
        if key.upper().replace(".", "_") == wanted:
            return key
    raise ConfigError(f"{name}: unknown configuration key (see README, Configuration)")


def _coerce(key: str, raw: object, *, source: str) -> object:
    if key not in DEFAULTS:
        raise ConfigError(f"{source}: unknown configuration key")
    default = DEFAULTS[key]
    value: object
    if isinstance(default, bool):
        value = _to_bool(raw, source)
    elif isinstance(default, int):
        value = _to_int(raw, source)
        if value < MINIMUM.get(key, 0):
            raise ConfigError(f"{source}: must be at least {MINIMUM.get(key, 0)}, got {value}")
    else:
        if raw is None:
            raw = ""
        if not isinstance(raw, str | int | float):
            raise ConfigError(f"{source}: must be a string")
        value = str(raw)
        if key in CHOICES and value not in CHOICES[key]:
            allowed = ", ".join(repr(c) for c in CHOICES[key])
            raise ConfigError(f"{source}: {value!r} is not allowed; use one of {allowed}")
        if key in SECRET_KEYS:
            value = Secret(value)
    return value


def _to_bool(raw: object, source: str) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{source}: {raw!r} is not a boolean; use true or false")


def _to_int(raw: object, source: str) -> int:
    if isinstance(raw, bool):
        raise ConfigError(f"{source}: {raw!r} is not a whole number")
    if isinstance(raw, int):
        return raw
    try:
        return int(str(raw).strip())
    except ValueError:
        raise ConfigError(f"{source}: {raw!r} is not a whole number") from None
