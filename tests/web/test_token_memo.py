"""Memoized token decisions (web.token.memo) are never stale: every change to who may do what
is honoured by the very next token request, and its decision record says why."""

from __future__ import annotations

import base64
import json

from aiohttp.test_utils import TestClient

from domain.values import Role, Visibility
from tests.web.test_decision_records import decisions
from tests.web.world import PASSWORD, SERVICE, World
from web.appkeys import SERVICES

URL = f"/v2/token?service={SERVICE}&scope=repository:webns/app:pull,push,delete"


async def granted(client: TestClient, headers: dict[str, str]) -> list[str]:  # type: ignore[type-arg]
    response = await client.get(URL, headers=headers)
    assert response.status == 200
    token = (await response.json())["token"]
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return [action for entry in claims["access"] for action in entry["actions"]]


async def test_each_change_is_honoured_by_the_next_request(client: TestClient,  # type: ignore[type-arg]
                                                           world: World) -> None:
    services = client.app[SERVICES]
    store, team, viewer = services.store, world.team_id, world.user_ids["viewer"]
    assert team is not None
    as_viewer = world.basic("viewer")
    # Asked twice: the same answer (the second from the memo)
    assert await granted(client, as_viewer) == ["pull"]
    assert await granted(client, as_viewer) == ["pull"]
    # Step 1: promoted to contributor, then owner: push, then delete
    await services.execute(lambda: store.change_member_role(team, viewer, Role.CONTRIBUTOR))
    assert await granted(client, as_viewer) == ["pull", "push"]
    await services.execute(lambda: store.change_member_role(team, viewer, Role.OWNER))
    assert await granted(client, as_viewer) == ["pull", "push", "delete"]
    # Step 2: removed from the team: nothing; the namespace made public: pull again
    await services.execute(lambda: store.remove_member(team, viewer))
    assert await granted(client, as_viewer) == []
    await services.execute(lambda: store.change_visibility(world.namespace_ids["webns"],
                                                           Visibility.PUBLIC))
    assert await granted(client, as_viewer) == ["pull"]
    assert await granted(client, {}) == ["pull"]  # anonymous too
    # Step 3: made an admin: the principal itself changed
    await services.execute(lambda: store.grant_admin(viewer))
    assert await granted(client, as_viewer) == ["pull", "push", "delete"]
    # Every answer was recorded with the reasons of its own moment
    records = [d for d in await decisions(client) if d.subject == "viewer"]
    reasons = [d.reasons["repository:webns/app:pull,push,delete"]["push"] for d in records]
    assert reasons == ["team viewer", "team viewer", "team contributor", "team owner",
                       "not a member of the namespace's team",
                       "not a member of the namespace's team", "admin"]


def claims_of(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    claims: dict[str, object] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


async def test_what_is_encoded_once_belongs_to_one_decision(client: TestClient,  # type: ignore[type-arg]
                                                            world: World) -> None:
    """The record's fixed fields and the token's fixed claims are encoded once per decision,
    credential kind and service (web.token.decision_records): each token and record still
    names its own user, credential, grant and id, and a change is never answered from an
    encoding made before it."""
    services = client.app[SERVICES]
    store, team, viewer = services.store, world.team_id, world.user_ids["viewer"]
    assert team is not None
    askers = [("viewer", world.basic("viewer"), "application_token"),
              ("viewer", world.basic("viewer", PASSWORD), "password"),
              ("contributor", world.basic("contributor"), "application_token"),
              ("", {}, "anonymous")]
    # Step 1: each asks twice (the second time from the encodings kept with the decision)
    tokens = []
    for _ in range(2):
        for _, headers, _ in askers:
            response = await client.get(URL, headers=headers)
            assert response.status == 200
            tokens.append((await response.json())["token"])
    expected = [("viewer", "application_token", ["pull"]), ("viewer", "password", ["pull"]),
                ("contributor", "application_token", ["pull", "push"]),
                ("", "anonymous", [])] * 2
    claims = [claims_of(token) for token in tokens]
    assert [(c["sub"], [a for e in c["access"] for a in e["actions"]])  # type: ignore[attr-defined]
            for c in claims] == [(sub, actions) for sub, _, actions in expected]
    records = await decisions(client)
    assert [(r.subject, r.credential, r.granted) for r in records] == [
        (sub, credential, [f"repository:webns/app:{','.join(actions)}"] if actions else [])
        for sub, credential, actions in expected]
    # Every token's id is its own record's, and its expiry the record's
    assert [c["jti"] for c in claims] == [r.jti for r in records]
    assert len({r.jti for r in records}) == len(records)
    assert [c["exp"] for c in claims] == [int(r.expires_at.timestamp())  # type: ignore[union-attr]
                                          for r in records]
    # Step 2: the viewer is promoted: the very next token and record say push, with its reason
    await services.execute(lambda: store.change_member_role(team, viewer, Role.CONTRIBUTOR))
    response = await client.get(URL, headers=world.basic("viewer"))
    claims_after = claims_of((await response.json())["token"])
    assert claims_after["access"] == [
        {"type": "repository", "name": "webns/app", "actions": ["pull", "push"]}]
    last = (await decisions(client))[-1]
    assert last.granted == ["repository:webns/app:pull,push"]
    assert last.reasons["repository:webns/app:pull,push,delete"]["push"] == "team contributor"


async def test_the_answer_is_the_json_it_always_was(client: TestClient,  # type: ignore[type-arg]
                                                    world: World) -> None:
    # GET: token, access_token, expires_in, issued_at (and refresh_token when offline)
    response = await client.get(URL + "&offline_token=true", headers=world.basic("viewer"))
    assert response.content_type == "application/json" and response.charset == "utf-8"
    body = await response.json()
    assert list(body) == ["token", "access_token", "expires_in", "issued_at", "refresh_token"]
    assert body["token"] == body["access_token"]
    assert body["expires_in"] == client.app[SERVICES].settings.token_lifetime_seconds
    # POST: the granted scope too
    form = {"grant_type": "refresh_token", "service": SERVICE,
            "scope": "repository:webns/app:pull,push", "refresh_token": body["refresh_token"]}
    response = await client.post("/v2/token", data=form)
    assert response.status == 200
    posted = await response.json()
    assert list(posted) == ["token", "access_token", "expires_in", "issued_at", "scope"]
    assert posted["scope"] == "repository:webns/app:pull"
