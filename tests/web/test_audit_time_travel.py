"""Time travel through the API and the CLI: a story an auditor would walk through."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import jwt
import pytest
from aiohttp.test_utils import TestClient

from domain.actors import acting_as
from domain.decisions import TokenRequestDecided
from domain.facts import Fact
from domain.values import Role, Visibility
from tests.web.test_cli import cli_env
from tests.web.world import SERVICE, World
from web.appkeys import SERVICES
from web.cli import main
from web.settings import Settings


class TokenIssuedForTest(Fact):
    """Stands in for the feed's decision record: the explainer reads any fact with a `jti`."""

    subject: str
    jti: str
    requested_scopes: list[str]


def admin(world: World) -> dict[str, str]:
    return {"Portus-Auth": f"admin:{world.tokens['admin']}"}


async def test_who_could_push_then_and_what_changed(
        client: TestClient, world: World, settings: Settings,  # type: ignore[type-arg]
        capsys: pytest.CaptureFixture[str]) -> None:
    services = client.app[SERVICES]
    store = services.store
    assert world.team_id is not None
    # Step 1: remember a moment when contributor could still push to webns.
    before = datetime.now(UTC).isoformat()
    # Step 2: the owner demotes contributor to viewer and makes webns protected.
    with acting_as("owner"):
        await services.execute(lambda: store.change_member_role(
            world.team_id, world.user_ids["contributor"], Role.VIEWER))  # type: ignore[arg-type]
        await services.execute(lambda: store.change_visibility(
            world.namespace_ids["webns"], Visibility.PROTECTED))
    after = datetime.now(UTC).isoformat()

    # Step 3: what contributor could do then and now, with the grant path.
    then = await client.get("/api/v1/audit/users/contributor/permissions",
                            params={"at": before}, headers=admin(world))
    assert then.status == 200
    body = await then.json()
    webns = next(n for n in body["namespaces"] if n["namespace"] == "webns")
    assert webns["actions"]["push"] == {"allowed": True, "reason": "team contributor"}
    assert webns["grant"]["team"] == "web" and webns["grant"]["role"] == "contributor"
    now = await (await client.get("/api/v1/audit/users/contributor/permissions",
                                  params={"at": after}, headers=admin(world))).json()
    webns = next(n for n in now["namespaces"] if n["namespace"] == "webns")
    assert webns["actions"]["push"]["allowed"] is False
    assert now["log_position"] > body["log_position"]

    # Step 4: who could push to the repository webns/app then.
    access = await (await client.get("/api/v1/audit/access", headers=admin(world), params={
        "repository": "webns/app", "at": before})).json()
    assert {e["who"] for e in access["access"]["push"]} == {"admin", "owner", "contributor"}
    assert {e["who"] for e in access["access"]["pull"]} == {"admin", "owner", "contributor",
                                                           "viewer"}

    # Step 5: the diff names the events that caused each change.
    diff = await (await client.get("/api/v1/audit/users/contributor/permissions/diff",
                                   params={"from": before, "to": after},
                                   headers=admin(world))).json()
    push = next(c for c in diff["changes"] if (c["namespace"], c["action"]) == ("webns", "push"))
    assert push["change"] == "revoked" and push["before"] == "team contributor"
    assert [e["type"] for e in push["caused_by"]] == ["Team.MemberRoleChanged"]
    assert push["caused_by"][0]["actor"] == "owner"
    access_diff = await (await client.get("/api/v1/audit/access/diff", headers=admin(world),
                                          params={"namespace": "webns", "from": before,
                                                  "to": after})).json()
    kinds = {(c["who"], c["action"], c["change"]) for c in access_diff["changes"]}
    assert ("contributor", "push", "revoked") in kinds
    assert ("(any signed-in user)", "pull", "granted") in kinds

    # Step 6: explain a token by its jti from its decision record.
    with acting_as("viewer"):
        await services.pool.run(services.audit.record, TokenIssuedForTest.new(
            subject="viewer", jti="jti-123", requested_scopes=["repository:webns/app:pull"]))
    token = await (await client.get("/api/v1/audit/tokens/jti-123",
                                    headers=admin(world))).json()
    assert token["subject"] == "viewer"
    # webns is protected by now: the policy's first matching reason is the visibility.
    assert token["recomputed"][0]["actions"]["pull"] == {
        "allowed": True, "reason": "protected namespace, signed-in user"}
    assert token["recomputed"][0]["grant"]["role"] == "viewer"

    # Step 7: the CLI answers the same question from the same store.
    await client.close()  # one writer at a time on SQLite; the CLI opens the store itself
    env = cli_env(settings)
    assert main(["audit", "permissions", "contributor", "--at", before], env) == 0
    out = capsys.readouterr().out
    assert "webns: pull: team contributor  push: team contributor" in out
    assert "team web as contributor" in out
    assert main(["audit", "access", "--repository", "webns/app", "--from", before,
                 "--to", after, "--json"], env) == 0
    changes = json.loads(capsys.readouterr().out)["changes"]
    assert any(c["who"] == "contributor" and c["change"] == "revoked" for c in changes)
    assert main(["audit", "explain-token", "jti-123"], env) == 0
    assert "webns/app: pull: protected namespace" in capsys.readouterr().out


async def test_bad_input_is_named(client: TestClient, world: World, settings: Settings,  # type: ignore[type-arg]
                                  capsys: pytest.CaptureFixture[str]) -> None:
    cases = [
        ("/api/v1/audit/users/contributor/permissions", {"at": "yesterday"}, 400, "at"),
        ("/api/v1/audit/users/nobody/permissions", {}, 404, "username"),
        ("/api/v1/audit/users/contributor/permissions/diff",
         {"from": "2030-01-02", "to": "2030-01-01"}, 400, "from"),
        ("/api/v1/audit/users/contributor/permissions/diff", {}, 400, "from"),
        ("/api/v1/audit/access", {"namespace": "a", "repository": "b/c"}, 400, "namespace"),
        ("/api/v1/audit/access", {"namespace": "nosuch"}, 404, "namespace"),
        ("/api/v1/audit/tokens/unknown", {}, 404, "jti"),
    ]
    for path, params, status, field in cases:
        response = await client.get(path, params=params, headers=admin(world))
        assert response.status == status, (path, params)
        assert field in (await response.json())["message"], (path, params)
    # Not for everyone: admins only.
    response = await client.get("/api/v1/audit/users/viewer/permissions",
                                headers={"Portus-Auth": f"viewer:{world.tokens['viewer']}"})
    assert response.status == 403
    await client.close()
    env = cli_env(settings)
    assert main(["audit", "permissions", "viewer", "--at", "nonsense"], env) == 1
    assert "--at" in capsys.readouterr().err
    assert main(["audit", "access", "--namespace", "webns", "--from", "2030-01-02",
                 "--to", "2030-01-01"], env) == 1
    assert "--from" in capsys.readouterr().err


async def test_explain_a_token_from_its_decision_record(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    """The record the token endpoint writes (domain.decisions), found by the token's jti."""
    services = client.app[SERVICES]
    record = TokenRequestDecided.new(
        subject="contributor", subject_id=str(world.user_ids["contributor"]),
        credential="application_token", client_address="127.0.0.1", forwarded_for="",
        user_agent="docker/27", service=SERVICE, requested=["repository:webns/app:pull,push"],
        granted=["repository:webns/app:pull,push"],
        reasons={"repository:webns/app:pull,push": {"pull": "team contributor",
                                                    "push": "team contributor"}},
        outcome="issued", refusal="", jti="jti-from-the-endpoint", expires_at=None)
    await services.pool.run(services.audit.record, record)
    answer = await (await client.get("/api/v1/audit/tokens/jti-from-the-endpoint",
                                     headers=admin(world))).json()
    assert answer["record"]["type"] == "TokenRequestDecided"
    assert answer["record"]["reasons"]["repository:webns/app:pull,push"]["push"] == \
        "team contributor"
    assert answer["subject"] == "contributor"
    [webns] = answer["recomputed"]
    assert webns["repository"] == "webns/app"
    assert webns["actions"]["push"] == {"allowed": True, "reason": "team contributor"}
    assert webns["grant"]["team"] == "web" and webns["grant"]["role"] == "contributor"


async def test_explain_a_real_token_by_its_jti(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    """End to end: a token from /v2/token, explained from the record the endpoint wrote."""
    response = await client.get("/v2/token", params={
        "service": SERVICE, "scope": "repository:webns/app:pull,push"},
        headers=world.basic("contributor"))
    assert response.status == 200
    claims = jwt.decode((await response.json())["token"], options={"verify_signature": False})
    answer = await (await client.get(f"/api/v1/audit/tokens/{claims['jti']}",
                                     headers=admin(world))).json()
    assert answer["record"]["type"] == "TokenRequestDecided"
    assert answer["subject"] == "contributor"
    [webns] = answer["recomputed"]
    assert webns["actions"]["push"] == {"allowed": True, "reason": "team contributor"}
