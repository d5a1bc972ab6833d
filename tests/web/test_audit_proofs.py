"""Checkpoints and proofs over HTTP: what an auditor's own verifier would fetch and check."""

from __future__ import annotations

import asyncio
import base64

from aiohttp.test_utils import TestClient

from domain.values import Role
from eventstore.merkle import verify_consistency, verify_inclusion
from eventstore.reader import head_position
from eventstore.signed_note import Verifier, parse_checkpoint
from eventstore.tlog import stored_rows
from tests.conftest import AppStarter
from tests.web.world import World, build_world
from web.appkeys import SERVICES


def b64(text: str) -> bytes:
    return base64.b64decode(text)


async def test_checkpoint_inclusion_and_consistency(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    admin = {"Portus-Auth": f"admin:{world.tokens['admin']}"}
    services = client.app[SERVICES]
    # Step 1: the verifier key, fetched once and kept by the auditor.
    verifier = Verifier.parse(
        (await (await client.get("/api/v1/audit/key")).json())["verifier_key"])
    # Step 2: a checkpoint made on demand, signed in the C2SP format.
    made = await client.post("/api/v1/audit/checkpoint", headers=admin)
    assert made.status == 201
    first = await made.json()
    cp = parse_checkpoint(first["note"], verifier)
    assert cp.origin == "wharfinger.test/wharfinger/events" and cp.size == first["size"] > 10
    latest = await (await client.get("/api/v1/audit/checkpoint", headers=admin)).json()
    assert latest["size"] >= cp.size
    # Step 3: an inclusion proof of one event, recomputed from the stored row.
    rows = await services.pool.run(lambda: list(stored_rows(services.store)))
    row = rows[4]
    proof = await (await client.get("/api/v1/audit/proofs/inclusion", headers=admin, params={
        "position": str(row.position), "size": str(cp.size)})).json()
    assert b64(proof["leaf_hash"]) == row.leaf_hash
    verify_inclusion(row.leaf_hash, proof["leaf_index"], cp.size,
                     [b64(h) for h in proof["proof"]], cp.root)
    # Step 4: the log grows; the new checkpoint provably extends the old one.
    assert world.team_id is not None
    await services.execute(lambda: services.store.change_member_role(
        world.team_id, world.user_ids["viewer"], Role.CONTRIBUTOR))  # type: ignore[arg-type]
    second = await (await client.post("/api/v1/audit/checkpoint", headers=admin)).json()
    later = parse_checkpoint(second["note"], verifier)
    assert later.size > cp.size
    consistency = await (await client.get("/api/v1/audit/proofs/consistency", headers=admin,
                                          params={"from": str(cp.size),
                                                  "to": str(later.size)})).json()
    verify_consistency(cp.size, later.size, cp.root, later.root,
                       [b64(h) for h in consistency["proof"]])


async def test_bad_proof_requests_are_named(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    admin = {"Portus-Auth": f"admin:{world.tokens['admin']}"}
    size = (await (await client.post("/api/v1/audit/checkpoint", headers=admin)).json())["size"]
    cases = [
        ("/api/v1/audit/proofs/inclusion", {"position": "abc"}, 400, "position"),
        ("/api/v1/audit/proofs/inclusion", {}, 400, "position"),
        ("/api/v1/audit/proofs/inclusion", {"position": "1", "size": str(size + 5)}, 400,
         "position"),
        ("/api/v1/audit/proofs/inclusion", {"position": "99999"}, 400, "position"),
        ("/api/v1/audit/proofs/consistency", {"from": "5", "to": "3"}, 400, "from"),
        ("/api/v1/audit/proofs/consistency", {"from": "1", "to": str(size + 1)}, 400, "to"),
        ("/api/v1/audit/proofs/consistency", {"from": "-1", "to": "3"}, 400, "from"),
        ("/api/v1/audit/checkpoint", {"log": "nope"}, 400, "log"),
    ]
    for path, params, status, field in cases:
        response = await client.get(path, params=params, headers=admin)
        assert response.status == status, (path, params, await response.text())
        assert field in (await response.json())["message"], (path, params)
    viewer = {"Portus-Auth": f"viewer:{world.tokens['viewer']}"}
    assert (await client.post("/api/v1/audit/checkpoint", headers=viewer)).status == 403


async def test_checkpoints_are_signed_periodically(start_app: AppStarter) -> None:
    client = await start_app(WHARFINGER_AUDIT_CHECKPOINT_INTERVAL_SECONDS="1")
    world = await build_world(client)
    admin = {"Portus-Auth": f"admin:{world.tokens['admin']}"}
    for _ in range(100):
        response = await client.get("/api/v1/audit/checkpoint", headers=admin)
        if response.status == 200:
            break
        assert response.status == 404
        await asyncio.sleep(0.1)
    body = await response.json()
    assert response.status == 200 and body["size"] > 0
    assert parse_checkpoint(body["note"], Verifier.parse(body["verifier_key"])).size == body["size"]


async def test_new_events_are_sealed_between_signings(start_app: AppStarter) -> None:
    """The trees take in new events every second, not in one burst when the next checkpoint
    is signed (a busy node would hold the GIL for that burst: web.audit_tools.keep_signing)."""
    client = await start_app(WHARFINGER_AUDIT_CHECKPOINT_INTERVAL_SECONDS="3600")
    await build_world(client)
    services = client.app[SERVICES]
    tools = services.audit_tools
    head = await services.pool.run(head_position, services.store)
    assert head > 0
    for _ in range(100):
        if await services.pool.run(tools.tlogs["events"].size) >= head:
            break
        await asyncio.sleep(0.1)
    assert await services.pool.run(tools.tlogs["events"].size) >= head
    # Sealed, not signed: the first checkpoint is an hour away.
    assert await services.pool.run(tools.tlogs["events"].latest_checkpoint) is None
