"""Portus's authorization matrix (portus.md §3.1), asked through the HTTP token endpoint."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from aiohttp.test_utils import TestClient

from domain.values import AccessRules, PushPolicy
from tests.web.world import SERVICE, World
from web.appkeys import SERVICES

ANON = None

# (who, scope, granted actions) with Portus's shipped defaults:
# allow-teams, delete.enabled=true, delete.contributors=false.
DEFAULT_MATRIX: list[tuple[str | None, str, list[str]]] = [
    # private team namespace
    ("admin", "repository:webns/app:pull,push,delete", ["pull", "push", "delete"]),
    ("owner", "repository:webns/app:pull,push,delete", ["pull", "push", "delete"]),
    ("contributor", "repository:webns/app:pull,push,delete", ["pull", "push"]),
    ("viewer", "repository:webns/app:pull,push,delete", ["pull"]),
    ("outsider", "repository:webns/app:pull,push,delete", []),
    (ANON, "repository:webns/app:pull", []),
    # protected: any signed-in user pulls
    ("outsider", "repository:prot/app:pull,push", ["pull"]),
    ("contributor", "repository:prot/app:pull,push", ["pull", "push"]),
    (ANON, "repository:prot/app:pull", []),
    # public: anyone pulls, only the team pushes
    (ANON, "repository:pub/app:pull,push", ["pull"]),
    ("outsider", "repository:pub/app:pull,push", ["pull"]),
    ("owner", "repository:pub/app:pull,push", ["pull", "push"]),
    # global namespace (names without a slash)
    ("outsider", "repository:busybox:pull,push", ["pull"]),
    (ANON, "repository:busybox:pull", ["pull"]),
    ("admin", "repository:busybox:pull,push,delete", ["pull", "push", "delete"]),
    # personal namespaces
    ("outsider", "repository:outsider/tool:pull,push,delete", ["pull", "push", "delete"]),
    ("viewer", "repository:outsider/tool:pull", []),
    ("admin", "repository:outsider/tool:pull,push", ["pull", "push"]),
    # nested paths belong to the first segment
    ("contributor", "repository:webns/a/b/c:pull,push", ["pull", "push"]),
    # unknown namespace: admins only
    ("admin", "repository:nowhere/app:pull,push", ["pull", "push"]),
    ("owner", "repository:nowhere/app:pull,push", []),
    # '*' is delete: granted exactly where delete is, and never unlocks other actions (§7.1)
    ("owner", "repository:webns/app:*", ["*"]),
    ("contributor", "repository:webns/app:*", []),
    (ANON, "repository:pub/app:*,push", []),
    ("viewer", "repository:webns/app:*,push", []),
    ("contributor", "repository:webns/app:*,push", ["push"]),
    # only pull, push, delete and * are recognised (§2.3 predicates-as-actions hole)
    ("owner", "repository:webns/app:pull,update,destroy,fork", ["pull"]),
    # the catalog is for admins, and only as '*'
    ("admin", "registry:catalog:*", ["*"]),
    ("owner", "registry:catalog:*", []),
    ("admin", "registry:catalog:pull", []),
    (ANON, "registry:catalog:*", []),
    ("admin", "registry:other:*", []),
    ("admin", "plugin:thing:pull", []),
]


async def token_access(client: TestClient, world: World, who: str | None,  # type: ignore[type-arg]
                       *scopes: str, service: str = SERVICE) -> list[dict[str, Any]]:
    headers = world.basic(who) if who else {}
    params = [("service", service), *(("scope", s) for s in scopes)]
    response = await client.get("/v2/token", params=params, headers=headers)
    assert response.status == 200, await response.text()
    claims = jwt.decode((await response.json())["token"], options={"verify_signature": False})
    access: list[dict[str, Any]] = claims["access"]
    return access


def actions_for(access: list[dict[str, Any]], scope: str) -> list[str]:
    rtype, _, rest = scope.partition(":")
    name = rest.rpartition(":")[0]
    for entry in access:
        if entry["type"] == rtype and entry["name"] == name:
            return list(entry["actions"])
    return []


@pytest.mark.parametrize(("who", "scope", "granted"), DEFAULT_MATRIX)
async def test_default_matrix(client: TestClient, world: World, who: str | None,  # type: ignore[type-arg]
                              scope: str, granted: list[str]) -> None:
    assert actions_for(await token_access(client, world, who, scope), scope) == granted


PUSH_POLICY_MATRIX = [
    # policy, who, namespace, push granted
    (PushPolicy.ALLOW_PERSONAL, "owner", "webns", False),
    (PushPolicy.ALLOW_PERSONAL, "owner", "owner", True),
    (PushPolicy.ALLOW_PERSONAL, "admin", "webns", True),
    (PushPolicy.ADMIN_ONLY, "owner", "owner", False),
    (PushPolicy.ADMIN_ONLY, "contributor", "webns", False),
    (PushPolicy.ADMIN_ONLY, "admin", "webns", True),
    (PushPolicy.ALLOW_TEAMS, "contributor", "webns", True),
    (PushPolicy.ALLOW_TEAMS, "viewer", "webns", False),
]


@pytest.mark.parametrize(("policy", "who", "namespace", "pushes"), PUSH_POLICY_MATRIX)
async def test_push_policies(client: TestClient, world: World, policy: PushPolicy,  # type: ignore[type-arg]
                             who: str, namespace: str, pushes: bool) -> None:
    services = client.app[SERVICES]
    await services.execute(lambda: services.store.record_access_rules(AccessRules(policy)))
    scope = f"repository:{namespace}/app:push"
    granted = actions_for(await token_access(client, world, who, scope), scope)
    assert granted == (["push"] if pushes else [])


DELETE_MATRIX = [
    # delete.enabled, delete.contributors, who, granted
    (False, False, "admin", False),
    (False, False, "owner", False),
    (True, False, "owner", True),
    (True, False, "contributor", False),
    (True, True, "contributor", True),
    (True, True, "viewer", False),
]


@pytest.mark.parametrize(("enabled", "contributors", "who", "deletes"), DELETE_MATRIX)
async def test_delete_switches(client: TestClient, world: World, enabled: bool,  # type: ignore[type-arg]
                               contributors: bool, who: str, deletes: bool) -> None:
    services = client.app[SERVICES]
    rules = AccessRules(PushPolicy.ALLOW_TEAMS, enabled, contributors)
    await services.execute(lambda: services.store.record_access_rules(rules))
    scope = "repository:webns/app:delete,*"
    granted = actions_for(await token_access(client, world, who, scope), scope)
    assert granted == (["delete", "*"] if deletes else [])


async def test_unknown_service_grants_nothing(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    access = await token_access(client, world, "admin", "repository:webns/app:pull",
                                service="elsewhere.test")
    assert access == []


async def test_several_scopes_in_one_value_and_repeated(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    access = await token_access(
        client, world, "contributor",
        "repository:webns/app:pull repository:pub/app:pull",
        "repository:webns/app:push,pull")
    assert access == [
        {"type": "repository", "name": "webns/app", "actions": ["pull", "push"]},
        {"type": "repository", "name": "pub/app", "actions": ["pull"]},
    ]


async def test_read_your_writes_after_a_role_change(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    services = client.app[SERVICES]
    scope = "repository:webns/app:push"
    assert actions_for(await token_access(client, world, "viewer", scope), scope) == []
    from domain.values import Role

    assert world.team_id is not None
    team_id, viewer_id = world.team_id, world.user_ids["viewer"]
    await services.execute(lambda: services.store.change_member_role(team_id, viewer_id,
                                                                     Role.CONTRIBUTOR))
    assert actions_for(await token_access(client, world, "viewer", scope), scope) == ["push"]
