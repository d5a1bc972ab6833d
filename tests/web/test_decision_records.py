"""Decision records: every `/v2/token` request is in the audit trail before its answer, the
records of concurrent requests share transactions, and no record means no token (503)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from aiohttp.test_utils import TestClient
from psycopg import sql

from domain.decisions import TokenRequestDecided
from eventstore.open import events_table
from eventstore.reader import read_after
from tests.web.world import SERVICE, World
from web.appkeys import SERVICES
from web.services import Services

TOKEN_URL = f"/v2/token?service={SERVICE}&scope=repository:webns/app:pull,push"


async def decisions(client: TestClient) -> list[TokenRequestDecided]:  # type: ignore[type-arg]
    services = client.app[SERVICES]
    logged = await services.pool.run(read_after, services.audit, 0, 10_000)
    return [e.event for e in logged if isinstance(e.event, TokenRequestDecided)]


async def test_a_token_and_a_refusal_are_recorded(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    # A viewer's token: pull granted, push denied, each with the policy's reason
    response = await client.get(TOKEN_URL, headers={**world.basic("viewer"),
                                                    "User-Agent": "docker/27.0",
                                                    "X-Forwarded-For": "203.0.113.9"})
    assert response.status == 200
    # A wrong password, and an anonymous request
    assert (await client.get(TOKEN_URL, headers=world.basic("viewer", "wrong"))).status == 401
    assert (await client.get(TOKEN_URL)).status == 200
    issued, refused, anonymous = await decisions(client)
    assert issued.outcome == "issued" and issued.actor == "viewer"
    assert issued.subject_id == str(world.user_ids["viewer"])
    assert issued.credential == "application_token"
    assert issued.client_address == "127.0.0.1" and issued.forwarded_for == "203.0.113.9"
    assert issued.user_agent == "docker/27.0" and issued.service == SERVICE
    assert issued.requested == ["repository:webns/app:pull,push"]
    assert issued.granted == ["repository:webns/app:pull"]
    assert issued.reasons == {"repository:webns/app:pull,push": {"pull": "team viewer",
                                                                 "push": "team viewer"}}
    assert issued.jti == issued.originator_id.hex and issued.expires_at is not None
    assert refused.outcome == "refused" and refused.subject == "viewer"
    assert refused.actor == "anonymous" and refused.jti == "" and refused.granted == []
    assert refused.refusal == "invalid username or password"
    assert anonymous.credential == "anonymous" and anonymous.subject == ""
    assert anonymous.granted == []


async def test_concurrent_requests_share_transactions(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    services = client.app[SERVICES]
    before = services.decisions.commits
    responses = await asyncio.gather(*(client.get(TOKEN_URL, headers=world.basic("owner"))
                                       for _ in range(40)))
    assert [r.status for r in responses] == [200] * 40
    assert len(await decisions(client)) == 40
    assert services.decisions.commits - before < 40


@contextmanager
def audit_table_gone(services: Services) -> Iterator[None]:
    """Make the audit trail unwritable the way an outage would: its table is not there."""
    table = events_table(services.audit)
    location = services.settings
    if location.database_url is None:
        path = str(location.data_dir / "audit.sqlite")
        with sqlite3.connect(path) as conn:
            conn.execute(f"ALTER TABLE {table} RENAME TO {table}_away")
        try:
            yield
        finally:
            with sqlite3.connect(path) as conn:
                conn.execute(f"ALTER TABLE {table}_away RENAME TO {table}")
        return
    from eventstore.location import parse_postgres_url

    target = parse_postgres_url(location.database_url)
    with psycopg.connect(target.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(
            sql.Identifier(target.schema, table), sql.Identifier(f"{table}_away")))
        try:
            yield
        finally:
            conn.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(
                sql.Identifier(target.schema, f"{table}_away"), sql.Identifier(table)))


async def test_no_record_no_token(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    services = client.app[SERVICES]
    with audit_table_gone(services):
        for headers in (world.basic("owner"), world.basic("owner", "wrong"), {}):
            response = await client.get(TOKEN_URL, headers=headers)
            assert response.status == 503
            body = await response.text()
            assert "could not be recorded" in body and "token\":" not in body
        form = {"grant_type": "password", "username": "owner", "password": "x",
                "service": SERVICE}
        assert (await client.post("/v2/token", data=form)).status == 503
    # Once the store is back, tokens flow again and only their records are in the trail
    assert (await client.get(TOKEN_URL, headers=world.basic("owner"))).status == 200
    assert [d.outcome for d in await decisions(client)] == ["issued"]


async def test_the_feed_shows_decisions_to_their_subject(client: TestClient,  # type: ignore[type-arg]
                                                         world: World) -> None:
    assert (await client.get(TOKEN_URL, headers=world.basic("viewer"))).status == 200
    assert (await client.get(TOKEN_URL, headers=world.basic("viewer", "bad"))).status == 401
    feed = client.app[SERVICES].feed
    assert feed is not None
    await feed.catch_up()

    async def seen_by(who: str) -> list[str]:
        response = await client.get("/api/v1/activities?type=token,user.login_failed",
                                    headers={"Portus-Auth": f"{who}:{world.tokens[who]}"})
        return [a["sentence"] for a in (await response.json())["activities"]]

    viewer = await seen_by("viewer")
    assert viewer[0] == ("a token request as viewer was refused from 127.0.0.1:"
                         " invalid username or password")
    assert viewer[1].startswith("viewer was issued a token for registry.test:5000")
    assert await seen_by("outsider") == []
    assert await seen_by("admin") == viewer
