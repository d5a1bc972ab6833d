"""`ldap.encryption.options.ssl_version` is the lowest TLS version Wharfinger accepts from the
directory, tested against a real slapd that cannot go above TLS 1.2."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import AppStarter, make_settings
from tests.ldap.conftest import ldap_env
from tests.ldap.slapd import USER_PASSWORD, Slapd
from tests.ldap.test_ldap_auth import token
from web.settings import ConfigError


@pytest.fixture
async def tls12_slapd(tmp_path: Path, tls_dir: Path) -> AsyncIterator[Slapd]:
    server = await asyncio.to_thread(Slapd.start, tmp_path / "slapd12", tls_dir,
                                     tls_priorities="NORMAL:-VERS-TLS1.3")
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)


@pytest.mark.parametrize("method", ["start_tls", "simple_tls"])
async def test_a_server_below_the_minimum_version_is_refused(
        tls12_slapd: Slapd, method: str, start_app: AppStarter) -> None:
    async def answer(ssl_version: str) -> tuple[int, dict[str, object]]:
        env = ldap_env(tls12_slapd, WHARFINGER_LDAP_ENCRYPTION_METHOD=method,
                       WHARFINGER_LDAP_ENCRYPTION_OPTIONS_CA_FILE=str(tls12_slapd.ca_file),
                       WHARFINGER_LDAP_ENCRYPTION_OPTIONS_SSL_VERSION=ssl_version)
        if method == "simple_tls":
            env["WHARFINGER_LDAP_PORT"] = str(tls12_slapd.tls_port)
        client = await start_app(**env)
        status, body = await token(client, "alice", USER_PASSWORD)
        return status, body

    assert (await answer("TLSv1_2"))[0] == 200
    status, body = await answer("TLSv1_3")
    assert status == 503  # fail closed: never fall back to a lower version or to plain text
    assert "ldap" in str(body["message"]).lower()


@pytest.mark.parametrize("insecure", ["TLSv1", "TLSv1_1", "SSLv3", "tls1.2"])
def test_insecure_or_unknown_versions_stop_start_up_naming_the_key(
        tmp_path: Path, insecure: str) -> None:
    with pytest.raises(ConfigError) as raised:
        make_settings(tmp_path, None, WHARFINGER_LDAP_ENCRYPTION_OPTIONS_SSL_VERSION=insecure)
    message = str(raised.value)
    assert "WHARFINGER_LDAP_ENCRYPTION_OPTIONS_SSL_VERSION" in message  # where it was set
    assert "TLSv1_2" in message and "TLSv1_3" in message
