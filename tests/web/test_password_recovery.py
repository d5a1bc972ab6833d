"""Password recovery through a real SMTP server (aiosmtpd): the mail arrives, the link works once,
for six hours, and the reset unlocks the account and ends its refresh tokens."""

from __future__ import annotations

import asyncio
import email
import re
from collections.abc import AsyncIterator
from email.message import Message
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp.test_utils import TestClient
from aiosmtpd.controller import Controller

from tests.conftest import AppStarter
from tests.ldap.slapd import free_port
from tests.web.probes import Clock, csrf_of, token_status
from tests.web.world import PASSWORD, SERVICE, build_world
from web.appkeys import SERVICES

NEW_PASSWORD = "a fresh new password"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        content = getattr(envelope, "content", b"")
        self.messages.append(email.message_from_bytes(content))
        return "250 OK"


@pytest.fixture
def inbox() -> AsyncIterator[tuple[Inbox, int]]:  # type: ignore[misc]
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
async def mail_client(inbox: tuple[Inbox, int],
                      start_app: AppStarter) -> TestClient:  # type: ignore[type-arg]
    return await start_app(WHARFINGER_EMAIL_SMTP_ENABLED="true",
                           WHARFINGER_EMAIL_SMTP_ADDRESS="127.0.0.1",
                           WHARFINGER_EMAIL_SMTP_PORT=str(inbox[1]),
                           WHARFINGER_EMAIL_FROM="registry@example.org",
                           WHARFINGER_CHECK_SSL_USAGE_ENABLED="false")


async def ask_for_link(client: TestClient, address: str) -> str:  # type: ignore[type-arg]
    response = await client.post("/users/password", data={
        "email": address, "_csrf": await csrf_of(client, "/users/password/new")})
    assert response.status == 200
    return await response.text()


async def wait_for_mail(inbox: Inbox, count: int) -> Message:
    for _ in range(100):
        if len(inbox.messages) >= count:
            return inbox.messages[count - 1]
        await asyncio.sleep(0.02)
    raise AssertionError("no mail arrived")


def link_in(message: Message) -> str:
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    found = re.search(r"http://\S+", body.decode())
    assert found, body
    parts = urlsplit(found.group(0))
    assert parts.netloc == "wharfinger.test"  # from configuration, never from the Host header
    return f"{parts.path}?{parts.query}"


async def test_forgot_password_mail_link_reset(mail_client: TestClient,
                                               inbox: tuple[Inbox, int]) -> None:  # type: ignore[type-arg]
    client, (mails, _) = mail_client, inbox
    world = await build_world(client)
    services = client.app[SERVICES]
    clock = Clock()
    services.passwords.clock = clock
    # Before: viewer holds a refresh token, then locks the account with wrong passwords.
    grant = await client.post("/v2/token", data={
        "grant_type": "password", "service": SERVICE, "username": "viewer",
        "password": PASSWORD, "access_type": "offline", "client_id": "t"})
    refresh_token = (await grant.json())["refresh_token"]
    signed_in = await client.post("/sign_in", allow_redirects=False, data={
        "username": "viewer", "password": PASSWORD, "next": "/",
        "_csrf": await csrf_of(client, "/sign_in")})
    assert signed_in.status == 303
    viewer_id = world.user_ids["viewer"]
    assert services.sessions.open_sessions_of(viewer_id)
    for _ in range(10):
        await token_status(client, "viewer", "wrong password")
    assert await token_status(client, "viewer", PASSWORD) == 401

    # The form, the request and the mail.
    form = await client.get("/users/password/new")
    assert form.status == 200 and "email" in await form.text()
    await ask_for_link(client, "viewer@example.org")
    message = await wait_for_mail(mails, 1)
    assert message["To"] == "viewer@example.org"
    assert "registry@example.org" in message["From"]
    link = link_in(message)

    # Following the link shows the form; posting it changes the password.
    page = await client.get(link)
    assert page.status == 200 and "New password" in await page.text()
    token = parse_qs(urlsplit(link).query)["reset_password_token"][0]
    csrf = await csrf_of(client, link)
    # Without the console's CSRF token the form is refused before anything happens.
    forged = await client.post("/users/password", data={
        "reset_password_token": token, "password": NEW_PASSWORD,
        "password_confirmation": NEW_PASSWORD})
    assert forged.status == 403
    mismatch = await client.post("/users/password", data={
        "reset_password_token": token, "password": NEW_PASSWORD, "_csrf": csrf,
        "password_confirmation": NEW_PASSWORD + "x"})
    assert mismatch.status == 400 and "differ" in await mismatch.text()
    short = await client.post("/users/password", data={
        "reset_password_token": token, "password": "short", "password_confirmation": "short",
        "_csrf": csrf})
    assert short.status == 400 and "too short" in await short.text()
    done = await client.post("/users/password", data={
        "reset_password_token": token, "password": NEW_PASSWORD,
        "password_confirmation": NEW_PASSWORD, "_csrf": csrf})
    assert done.status == 200, await done.text()

    # Unlocked, the new password works, the old one and the refresh token do not.
    assert await token_status(client, "viewer", NEW_PASSWORD) == 200
    assert await token_status(client, "viewer", PASSWORD) == 401
    refreshed = await client.post("/v2/token", data={
        "grant_type": "refresh_token", "service": SERVICE, "refresh_token": refresh_token,
        "client_id": "t"})
    assert refreshed.status == 401
    # ...and the console session has ended.
    assert not services.sessions.open_sessions_of(viewer_id)
    assert (await client.get("/profile", allow_redirects=False)).status in (302, 303, 401)

    # The link works once.
    again = await client.get(link)
    assert again.status == 400 and "already been used" in await again.text()
    reused = await client.post("/users/password", data={
        "reset_password_token": token, "password": "another password 2",
        "password_confirmation": "another password 2",
        "_csrf": await csrf_of(client, "/users/password/new")})
    assert reused.status == 400


async def test_tampered_and_expired_links_are_refused(mail_client: TestClient,
                                                      inbox: tuple[Inbox, int]) -> None:  # type: ignore[type-arg]
    client, (mails, _) = mail_client, inbox
    await build_world(client)
    clock = Clock()
    client.app[SERVICES].passwords.clock = clock
    await ask_for_link(client, "viewer@example.org")
    link = link_in(await wait_for_mail(mails, 1))
    # Tampered: flip one character of the signed part.
    path, _, query = link.partition("?")
    token = parse_qs(query)["reset_password_token"][0]
    head, body, mac = token.split(".")
    forged_body = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    forged = await client.get(path, params={"reset_password_token": f"{head}.{forged_body}.{mac}"})
    assert forged.status == 400 and "altered" in await forged.text()
    garbage = await client.get(path, params={"reset_password_token": "nonsense"})
    assert garbage.status == 400 and "not valid" in await garbage.text()
    # Valid for six hours, not a second more.
    clock.now += 6 * 3600 - 1
    assert (await client.get(link)).status == 200
    clock.now += 1
    expired = await client.get(link)
    assert expired.status == 400 and "expired" in await expired.text()


async def test_no_mail_for_unknown_addresses_bots_or_directory_accounts(
        mail_client: TestClient, inbox: tuple[Inbox, int]) -> None:  # type: ignore[type-arg]
    client, (mails, _) = mail_client, inbox
    await build_world(client)
    services = client.app[SERVICES]
    store = services.store

    def others() -> None:
        store.register_user(username="robot", email="robot@example.org",
                            password_hash="x", bot=True)
        store.register_directory_user(username="dirk", email="dirk@example.org", admin=False,
                                      dn="uid=dirk,ou=people,dc=example,dc=org")

    await services.execute(others)
    page = await ask_for_link(client, "nobody@example.org")
    assert "If an account uses that address" in page
    assert await ask_for_link(client, "robot@example.org") == page
    assert await ask_for_link(client, "dirk@example.org") == page
    # The answer is the same, and nothing was sent. A real request afterwards arrives first.
    await ask_for_link(client, "owner@example.org")
    assert (await wait_for_mail(mails, 1))["To"] == "owner@example.org"
    assert len(mails.messages) == 1


async def test_unavailable_without_smtp_or_under_ldap(start_app: AppStarter) -> None:
    plain = await start_app()
    assert (await plain.get("/users/password/new")).status == 404
    ldap = await start_app(
        WHARFINGER_LDAP_ENABLED="true",
        WHARFINGER_LDAP_HOSTNAME="127.0.0.1", WHARFINGER_LDAP_PORT=str(free_port()),
        WHARFINGER_LDAP_TIMEOUT="1", WHARFINGER_LDAP_BASE="dc=example,dc=org",
        WHARFINGER_EMAIL_SMTP_ENABLED="true")
    response = await ldap.get("/users/password/new")
    assert response.status == 404 and "LDAP" in await response.text()
