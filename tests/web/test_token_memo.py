"""Memoized token decisions (web.token.memo) are never stale: every change to who may do what
is honoured by the very next token request, and its decision record says why."""

from __future__ import annotations

import base64
import json

from aiohttp.test_utils import TestClient

from domain.values import Role, Visibility
from tests.web.test_decision_records import decisions
from tests.web.world import SERVICE, World
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
