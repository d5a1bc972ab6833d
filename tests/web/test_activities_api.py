"""`GET /api/v1/activities` over HTTP: what each kind of user sees, filters, cursor pages,
exports, and bad input (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import json

from aiohttp.test_utils import TestClient

from domain.decisions import TokenRequestDecided
from tests.web.world import SERVICE, World
from web.appkeys import SERVICES

URL = "/api/v1/activities"


def auth(world: World, username: str) -> dict[str, str]:
    return {"Portus-Auth": f"{username}:{world.tokens[username]}"}


async def caught_up(client: TestClient) -> None:  # type: ignore[type-arg]
    feed = client.app[SERVICES].feed
    assert feed is not None
    await feed.catch_up()


async def sentences(client: TestClient, world: World, who: str,  # type: ignore[type-arg]
                    query: str = "") -> list[str]:
    response = await client.get(f"{URL}?limit=100{query}", headers=auth(world, who))
    assert response.status == 200, await response.text()
    return [a["sentence"] for a in (await response.json())["activities"]]


async def test_admins_and_auditors_see_all_others_their_share(
        client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    services = client.app[SERVICES]
    # Given a token decision for the viewer and an auditor appointed by the admin
    fact = TokenRequestDecided.new(
        actor="viewer", subject="viewer", subject_id=str(world.user_ids["viewer"]),
        credential="password", client_address="127.0.0.1", forwarded_for="", user_agent="t",
        service=SERVICE, requested=["repository:webns/app:pull"],
        granted=["repository:webns/app:pull"], reasons={}, outcome="issued", refusal="",
        jti="j", expires_at=None)
    await services.pool.run(services.audit.record, fact)
    await services.execute(lambda: services.store.grant_auditor(world.user_ids["outsider"]),
                           actor="admin")
    await caught_up(client)
    # Then the admin and the auditor see everything, the same
    everything = await sentences(client, world, "admin")
    assert await sentences(client, world, "outsider") == everything
    assert any(s.startswith("viewer was issued a token") for s in everything)
    # The viewer sees the team's entries and its own token, not another user's token
    viewer = await sentences(client, world, "viewer")
    assert any(s.startswith("viewer was issued a token") for s in viewer)
    assert any("to team web as contributor" in s for s in viewer)
    assert "admin made outsider an auditor" not in viewer
    # After losing the role, the outsider sees only registry-wide and own entries
    await services.execute(lambda: services.store.revoke_auditor(world.user_ids["outsider"]),
                           actor="admin")
    await caught_up(client)
    outsider = await sentences(client, world, "outsider")
    assert not any("team web" in s for s in outsider)
    assert "admin removed outsider from the auditors" in outsider
    assert any("registered registry main" in s for s in outsider)


async def test_filters_and_cursor(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    await caught_up(client)
    team = await sentences(client, world, "admin", "&team=web&type=team")
    assert team and all("team web" in s for s in team)
    ns = await sentences(client, world, "admin", "&namespace=pub")
    assert ns == ["system created public namespace pub in team web"]
    # Walk the whole feed two entries at a time
    seen: list[str] = []
    url = f"{URL}?limit=2"
    while url:
        response = await client.get(url, headers=auth(world, "admin"))
        body = await response.json()
        seen += [a["id"] for a in body["activities"]]
        url = f"{URL}?limit=2&cursor={body['next_cursor']}" if body["next_cursor"] else ""
    everything = await (await client.get(f"{URL}?limit=100",
                                         headers=auth(world, "admin"))).json()
    assert seen == [a["id"] for a in everything["activities"]]


async def test_exports(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    await caught_up(client)
    admin = auth(world, "admin")
    rows = list(csv.reader(io.StringIO(await (await client.get(
        f"{URL}?format=csv", headers=admin)).text())))
    assert rows[0] == ["Tracked item", "Item", "Event", "Recipient", "Triggered by", "Time",
                       "Notes"]
    lines = (await (await client.get(f"{URL}?format=jsonl", headers=admin)).text()).splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == len(rows) - 1 > 10
    assert {(r["schema"], r["schema_version"]) for r in records} == {("wharfinger.activity", 1)}
    ocsf = await (await client.get(f"{URL}?format=ocsf", headers=admin)).json()
    assert len(ocsf) == len(records)
    by_type = {o["metadata"]["event_code"]: o for o in ocsf}
    assert by_type["team.add_member"]["class_uid"] == 3006
    assert by_type["team.add_member"]["type_uid"] == 300603
    assert by_type["user.create"]["class_uid"] == 3001


async def test_bad_input_is_named(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    admin = auth(world, "admin")
    for query, status, field in [
            ("since=yesterday", 400, "since"),
            ("since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z", 400, "since"),
            ("actor=nobody", 404, "actor"), ("team=nope", 404, "team"),
            ("namespace=nope", 404, "namespace"), ("cursor=%%%", 400, "cursor"),
            ("limit=0", 400, "limit"), ("format=xml", 400, "format"),
            ("type=DROP TABLE", 400, "type")]:
        response = await client.get(f"{URL}?{query}", headers=admin)
        assert response.status == status, query
        assert field in (await response.json())["message"], query
    assert (await client.get(URL)).status == 401
