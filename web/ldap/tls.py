"""TLS towards the directory with a minimum protocol version (`ssl_version` in `ldap.encryption`).

ldap3 builds its own `SSLContext` inside `Tls.wrap_socket` and offers only the deprecated
`OP_NO_TLS*` flags to restrict it (Python 3.10+ warns about them). This `Tls` builds the context
the modern way instead: Python's default client context (certificate and host name checked by
`ssl` itself), the configured CA file, and `minimum_version` from Portus's key.
"""

from __future__ import annotations

import ssl
from typing import Any

import ldap3

MINIMUM_VERSIONS = {"TLSv1_2": ssl.TLSVersion.TLSv1_2, "TLSv1_3": ssl.TLSVersion.TLSv1_3}
"""Portus's `ssl_version` names we honour; TLS 1.0 and 1.1 are refused at start (insecure)."""


class MinimumVersionTls(ldap3.Tls):  # type: ignore[misc]  # ldap3 ships no type hints
    def __init__(self, *, ca_file: str, ssl_version: str) -> None:
        super().__init__(ca_certs_file=ca_file or None, validate=ssl.CERT_REQUIRED)
        self._context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH,
                                                   cafile=ca_file or None)
        self._context.minimum_version = MINIMUM_VERSIONS[ssl_version]

    def wrap_socket(self, connection: Any, do_handshake: bool = False) -> None:
        # Called by ldap3 for LDAPS at open and for StartTLS after the extended operation.
        connection.socket = self._context.wrap_socket(
            connection.socket, server_side=False, do_handshake_on_connect=do_handshake,
            server_hostname=connection.server.host)
