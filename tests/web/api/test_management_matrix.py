"""Portus's management matrix (portus.md §3.2) through the API, with the `user_permission.*` and
`delete.*` switches, and the token endpoint agreeing with what the API just changed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import AppStarter
from tests.web.api.helpers import Api
from tests.web.test_token_matrix import actions_for, token_access
from tests.web.world import build_world

OFF = "false"
UP = "WHARFINGER_USER_PERMISSION_"

# (switches, who, method, path, body, expected status). {team}, {webns}, {pub}, {global},
# {personal} are replaced by ids of the test world.
MATRIX: list[tuple[dict[str, str], str, str, str, Any, int]] = [
    # create a namespace in team `web`
    ({}, "admin", "POST", "/api/v1/namespaces", {"name": "n1", "team": "web"}, 201),
    ({}, "owner", "POST", "/api/v1/namespaces", {"name": "n1", "team": "web"}, 201),
    ({}, "contributor", "POST", "/api/v1/namespaces", {"name": "n1", "team": "web"}, 201),
    ({}, "viewer", "POST", "/api/v1/namespaces", {"name": "n1", "team": "web"}, 403),
    ({}, "outsider", "POST", "/api/v1/namespaces", {"name": "n1", "team": "web"}, 403),
    ({UP + "CREATE_NAMESPACE_ENABLED": OFF}, "owner", "POST", "/api/v1/namespaces",
     {"name": "n1", "team": "web"}, 403),
    ({UP + "CREATE_NAMESPACE_ENABLED": OFF}, "admin", "POST", "/api/v1/namespaces",
     {"name": "n1", "team": "web"}, 201),
    ({UP + "PUSH_IMAGES_POLICY": "admin-only"}, "owner", "POST", "/api/v1/namespaces",
     {"name": "n1", "team": "web"}, 403),
    # update a namespace (description)
    ({}, "owner", "PUT", "/api/v1/namespaces/{webns}", {"description": "x"}, 200),
    ({}, "contributor", "PUT", "/api/v1/namespaces/{webns}", {"description": "x"}, 403),
    ({}, "viewer", "PUT", "/api/v1/namespaces/{webns}", {"description": "x"}, 403),
    ({UP + "MANAGE_NAMESPACE_ENABLED": OFF}, "owner", "PUT", "/api/v1/namespaces/{webns}",
     {"description": "x"}, 403),
    ({UP + "MANAGE_NAMESPACE_ENABLED": OFF}, "admin", "PUT", "/api/v1/namespaces/{webns}",
     {"description": "x"}, 200),
    ({UP + "PUSH_IMAGES_POLICY": "allow-personal"}, "owner", "PUT",
     "/api/v1/namespaces/{webns}", {"description": "x"}, 403),
    # change visibility
    ({}, "owner", "PUT", "/api/v1/namespaces/{webns}", {"visibility": "public"}, 200),
    ({}, "contributor", "PUT", "/api/v1/namespaces/{webns}", {"visibility": "public"}, 403),
    ({UP + "CHANGE_VISIBILITY_ENABLED": OFF}, "owner", "PUT", "/api/v1/namespaces/{webns}",
     {"visibility": "public"}, 403),
    ({}, "admin", "PUT", "/api/v1/namespaces/{global}", {"visibility": "protected"}, 200),
    ({}, "owner", "PUT", "/api/v1/namespaces/{global}", {"visibility": "protected"}, 403),
    ({}, "outsider", "PUT", "/api/v1/namespaces/{personal}", {"visibility": "public"}, 200),
    # delete a namespace
    ({}, "owner", "DELETE", "/api/v1/namespaces/{pub}", None, 204),
    ({}, "contributor", "DELETE", "/api/v1/namespaces/{pub}", None, 403),
    ({"WHARFINGER_DELETE_CONTRIBUTORS": "true"}, "contributor", "DELETE",
     "/api/v1/namespaces/{pub}", None, 204),
    ({"WHARFINGER_DELETE_ENABLED": OFF}, "admin", "DELETE", "/api/v1/namespaces/{pub}", None,
     405),
    ({}, "admin", "DELETE", "/api/v1/namespaces/{global}", None, 422),
    # teams
    ({}, "outsider", "POST", "/api/v1/teams", {"name": "t1"}, 201),
    ({UP + "CREATE_TEAM_ENABLED": OFF}, "outsider", "POST", "/api/v1/teams", {"name": "t1"}, 403),
    ({UP + "CREATE_TEAM_ENABLED": OFF}, "admin", "POST", "/api/v1/teams", {"name": "t1"}, 201),
    ({}, "owner", "PUT", "/api/v1/teams/{team}", {"description": "d"}, 200),
    ({UP + "MANAGE_TEAM_ENABLED": OFF}, "owner", "PUT", "/api/v1/teams/{team}",
     {"description": "d"}, 403),
    ({}, "contributor", "PUT", "/api/v1/teams/{team}", {"description": "d"}, 403),
    ({}, "viewer", "GET", "/api/v1/teams/{team}", None, 200),
    ({}, "outsider", "GET", "/api/v1/teams/{team}", None, 403),
    ({}, "owner", "DELETE", "/api/v1/teams/{team}", None, 204),
    ({}, "contributor", "DELETE", "/api/v1/teams/{team}", None, 403),
    ({"WHARFINGER_DELETE_CONTRIBUTORS": "true"}, "owner", "DELETE", "/api/v1/teams/{team}",
     None, 204),
    ({"WHARFINGER_DELETE_ENABLED": OFF}, "owner", "DELETE", "/api/v1/teams/{team}", None, 405),
    # members: owners and admins, no switch
    ({}, "owner", "POST", "/api/v1/teams/{team}/members", {"user": "outsider", "role": "viewer"},
     201),
    ({UP + "MANAGE_TEAM_ENABLED": OFF}, "owner", "POST", "/api/v1/teams/{team}/members",
     {"user": "outsider", "role": "viewer"}, 201),
    ({}, "contributor", "POST", "/api/v1/teams/{team}/members",
     {"user": "outsider", "role": "viewer"}, 403),
    ({}, "admin", "POST", "/api/v1/teams/{team}/members", {"user": "outsider", "role": "viewer"},
     201),
    # users and registries: admins only
    ({}, "owner", "GET", "/api/v1/users", None, 403),
    ({}, "owner", "GET", "/api/v1/registries", None, 403),
    ({}, "admin", "GET", "/api/v1/registries", None, 200),
]


@pytest.mark.parametrize(("switches", "who", "method", "path", "body", "status"), MATRIX)
async def test_management_matrix(start_app: AppStarter, switches: dict[str, str], who: str,
                                 method: str, path: str, body: Any, status: int) -> None:
    client = await start_app(**switches)
    api = Api(client, await build_world(client))
    assert api.world.team_id is not None
    listed = await api.ok("GET", "/api/v1/namespaces?all=true")
    ids = {"team": api.id_of(api.world.team_id),
           "webns": api.id_of(api.world.namespace_ids["webns"]),
           "pub": api.id_of(api.world.namespace_ids["pub"]),
           "global": next(n["id"] for n in listed if n["global"]),
           "personal": next(n["id"] for n in listed if n["name"] == "outsider")}
    response = await api.call(method, path.format(**ids), who=who, json=body)
    assert response.status == status, await response.text()


async def test_api_changes_reach_the_token_endpoint_at_once(api: Api) -> None:
    """Read-your-writes: after a 2xx, the next token request on this node reflects it."""
    client, world = api.client, api.world
    assert world.team_id is not None
    team = api.id_of(world.team_id)
    webns = api.id_of(world.namespace_ids["webns"])
    push = "repository:webns/app:pull,push"
    assert actions_for(await token_access(client, world, "outsider", push), push) == []
    # Added as contributor: push at once.
    await api.ok("POST", f"/api/v1/teams/{team}/members", who="owner",
                 json={"user": "outsider", "role": "contributor"}, status=201)
    assert actions_for(await token_access(client, world, "outsider", push), push) == [
        "pull", "push"]
    # Demoted to viewer: pull only.
    await api.ok("PUT", f"/api/v1/teams/{team}/members/5", who="owner", json={"role": "viewer"})
    assert actions_for(await token_access(client, world, "outsider", push), push) == ["pull"]
    # Made public: anonymous pull.
    await api.ok("PUT", f"/api/v1/namespaces/{webns}", who="owner",
                 json={"namespace": {"visibility": "public"}})
    assert actions_for(await token_access(client, world, None, push), push) == ["pull"]
    # Moved to a team of the viewer's own: the old team's contributor loses push.
    await api.ok("POST", "/api/v1/teams", who="owner", json={"name": "solo"}, status=201)
    await api.ok("PUT", f"/api/v1/namespaces/{webns}", who="owner",
                 json={"namespace": {"team": "solo"}})
    assert actions_for(await token_access(client, world, "contributor", push), push) == ["pull"]
    # Renamed: the new name is authorised, the old one is unknown (admins only).
    await api.ok("PUT", f"/api/v1/namespaces/{webns}", who="owner",
                 json={"namespace": {"name": "shop"}})
    assert actions_for(await token_access(client, world, "owner", "repository:shop/app:push"),
                       "repository:shop/app:push") == ["push"]
    assert actions_for(await token_access(client, world, "owner", push), push) == []
    # A deleted user's token is refused.
    await api.ok("DELETE", "/api/v1/users/5", status=204)
    response = await client.get("/v2/token", params={"service": "registry.test:5000"},
                                headers=world.basic("outsider"))
    assert response.status == 401
