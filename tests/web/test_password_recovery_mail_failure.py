"""Password recovery when the mail cannot go out: a clear 503 page, a log line naming the SMTP
server (never the link or a password), and nothing changed; tested against a closed port and a
real SMTP server (aiosmtpd) that refuses the message."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import AppStarter
from tests.ldap.slapd import free_port
from tests.web.probes import csrf_of, token_status
from tests.web.world import PASSWORD, build_world
from web.appkeys import SERVICES


class Refusing:
    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        return "554 5.7.1 Message refused"


@pytest.fixture(params=["closed port", "server refuses"])
def smtp_port(request: pytest.FixtureRequest) -> Iterator[int]:
    port = free_port()
    if request.param == "closed port":
        yield port  # nothing listens there
        return
    # The refusal must come at DATA, so this server takes mail without AUTH.
    controller = Controller(Refusing(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


async def test_a_mail_that_cannot_be_sent_is_a_clear_503_and_changes_nothing(
        smtp_port: int, start_app: AppStarter, caplog: pytest.LogCaptureFixture,
        request: pytest.FixtureRequest) -> None:
    closed = request.node.callspec.params["smtp_port"] == "closed port"
    login = {"WHARFINGER_EMAIL_SMTP_USER_NAME": "mailer",
             "WHARFINGER_EMAIL_SMTP_PASSWORD": "smtp-secret-42"} if closed else {}
    client = await start_app(WHARFINGER_EMAIL_SMTP_ENABLED="true",
                             WHARFINGER_EMAIL_SMTP_ADDRESS="127.0.0.1",
                             WHARFINGER_EMAIL_SMTP_PORT=str(smtp_port),
                             WHARFINGER_EMAIL_FROM="registry@example.org",
                             WHARFINGER_CHECK_SSL_USAGE_ENABLED="false", **login)
    await build_world(client)
    services = client.app[SERVICES]
    position = services.follower.position

    with caplog.at_level(logging.ERROR):
        response = await client.post("/users/password", data={
            "email": "viewer@example.org",
            "_csrf": await csrf_of(client, "/users/password/new")})
    assert response.status == 503
    text = await response.text()
    assert "could not be sent" in text and "Traceback" not in text
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert f"127.0.0.1:{smtp_port}" in logged
    assert ("ConnectionRefusedError" if closed else "SMTPDataError") in logged
    assert "smtp-secret-42" not in logged and "reset_password_token" not in logged
    # Nothing was recorded and the password still works.
    assert services.follower.position == position
    assert await token_status(client, "viewer", PASSWORD) == 200
