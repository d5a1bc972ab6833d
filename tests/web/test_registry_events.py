"""The registry notification endpoint and the repositories API, over HTTP, on both backends.

Payloads are the real ones Distribution 2.8 sent (shared/reference/registry-events/events.jsonl),
and events shaped like them.
"""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from eventsourcing.utils import get_topic

from domain.namespaces import Namespace
from domain.registries import ADMINS_TEAM_ID
from domain.repositories import ManifestPulled, Repository, repository_id
from tests.conftest import AppStarter
from tests.web.world import World, build_world
from web.appkeys import SERVICES

V1 = "application/vnd.docker.distribution.events.v1+json"
OCI = "application/vnd.oci.image.manifest.v1+json"
SCHEMA2 = "application/vnd.docker.distribution.manifest.v2+json"
EVENTS = Path(__file__).resolve().parents[2] / "shared" / "reference" / "registry-events"
if not EVENTS.exists():  # the worktree's shared/ is beside the checkouts
    EVENTS = Path("/work/shared/reference/registry-events")


def digest(n: int) -> str:
    return "sha256:" + f"{n:064x}"


def event(action: str, repository: str, *, tag: str = "", dig: str = "", media_type: str = OCI,
          actor: str = "owner", event_id: str | None = None, request_id: str = "r1",
          size: int = 400) -> dict[str, Any]:
    target: dict[str, Any] = {"repository": repository}
    if dig:
        target["digest"] = dig
    if tag:
        target["tag"] = tag
    if action != "delete":
        target.update(mediaType=media_type, size=size, length=size,
                      references=[{"digest": digest(999), "mediaType": "x", "size": 100}])
    return {"id": event_id or str(uuid.uuid4()), "timestamp": "2026-11-26T16:32:53.655Z",
            "action": action, "target": target, "actor": {"name": actor} if actor else {},
            "request": {"id": request_id, "addr": "10.0.0.7:4242", "host": "registry.test:5000",
                        "method": "PUT", "useragent": "skopeo/1.9.3"},
            "source": {"addr": "vm:5000", "instanceID": "instance-1"}}


async def post(client: TestClient, body: Any, *, secret: str | None = None,  # type: ignore[type-arg]
               content_type: str = V1) -> Any:
    services = client.app[SERVICES]
    token = services.notification_secret if secret is None else secret
    data = io.BytesIO(body if isinstance(body, bytes) else json.dumps(body).encode())
    return await client.post("/v2/webhooks/events", data=data, headers={
        "Authorization": f"Bearer {token}", "Content-Type": content_type})


def repo_events(client: TestClient, full_name: str) -> list[Any]:  # type: ignore[type-arg]
    store = client.app[SERVICES].store
    return list(store.events.get(repository_id(full_name)))


def api(world: World, who: str = "admin") -> dict[str, str]:
    return {"Portus-Auth": f"{who}:{world.tokens[who]}"}


async def test_the_real_2_8_payloads_are_recorded_once_each(
        client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    lines = [json.loads(line) for line in (EVENTS / "events.jsonl").read_text().splitlines()]
    for line in lines:
        response = await post(client, line["body"],
                              content_type=line["headers"]["Content-Type"])
        assert response.status == 202, await response.text()
    # Delivered again after a "restart": nothing new.
    for line in lines:
        response = await post(client, line["body"])
        assert (await response.json())["recorded"] == 0

    alice = repo_events(client, "alice/demo-179571083213573")
    kinds = [type(e).__name__ for e in alice]
    # One push with a tag, and one delete carrying the tag it removed; blobs are ignored.
    assert kinds == ["Created", "TagPushed", "ManifestDeleted"]
    pushed, deleted = alice[1], alice[2]
    assert (pushed.tag, pushed.media_type, pushed.actor) == ("v1", OCI, "alice")
    assert pushed.client_addr.startswith("127.0.0.1:")
    assert pushed.user_agent == "skopeo/1.9.3"
    assert pushed.registry_instance == "562609af-e092-4f5c-b0ad-8b4ddaccc882"
    assert pushed.size > pushed.manifest_size  # config and layer sizes from references
    assert deleted.tags == ["v1"]
    assert deleted.digest == pushed.digest and deleted.actor == "alice"

    # Pushes into namespaces nobody created made them: private, owned by the admins.
    services = client.app[SERVICES]
    ns_ids = [services.index.namespace_ids_by_name[n] for n in ("alice", "public")]
    for ns_id in ns_ids:
        ns = services.store.get_namespace(ns_id)
        created = next(iter(services.store.events.get(ns_id)))
        assert isinstance(created, Namespace.Created) and created.origin == "registry"
        assert ns.team_id == ADMINS_TEAM_ID and ns.visibility.value == "private"

    # Manifest pulls went to the audit trail (once each); blob pulls did not.
    pulls = services.audit.recorder.select_notifications(
        start=None, limit=100, topics=[get_topic(ManifestPulled)])
    assert len(pulls) == 6

    # The public repository is listed with its tag; the deleted one is not.
    listed = await client.get("/api/v1/repositories", headers=api(world))
    assert [r["full_name"] for r in await listed.json()] == ["public/demo-179571083213573"]


async def test_push_appears_in_the_api_grouped_by_digest_with_author_and_pull_time(
        client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    envelope = {"events": [
        event("push", "webns/app", tag="v1", dig=digest(1), media_type=OCI),
        event("push", "webns/app", tag="latest", dig=digest(1), media_type=OCI),
        event("push", "webns/app", tag="v2", dig=digest(2), media_type=SCHEMA2,
              actor="contributor"),
        event("push", "webns/app", dig=digest(3), media_type=OCI),  # by digest, no tag
    ]}
    response = await post(client, envelope)
    assert response.status == 202
    assert (await response.json())["recorded"] == 4
    listed = await (await client.get("/api/v1/repositories", headers=api(world, "viewer"))).json()
    assert [(r["full_name"], r["tags_count"], r["destroyable"]) for r in listed] == [
        ("webns/app", 3, False)]
    rid = listed[0]["id"]
    grouped = await (await client.get(f"/api/v1/repositories/{rid}/tags/grouped",
                                      headers=api(world, "viewer"))).json()
    assert [[t["name"] for t in group] for group in grouped] == [["v2"], ["latest", "v1"]]
    v2 = grouped[0][0]
    assert (v2["author"]["name"], v2["digest"], v2["media_type"], v2["size"]) == (
        "contributor", digest(2), SCHEMA2, 500)
    assert v2["last_pulled_at"] is None

    # A pull of v2 sets its last pull time.
    pull = event("pull", "webns/app", tag="v2", dig=digest(2), media_type=SCHEMA2)
    assert (await post(client, {"events": [pull]})).status == 202
    tags = await (await client.get(f"/api/v1/repositories/{rid}/tags",
                                   headers=api(world, "viewer"))).json()
    assert next(t for t in tags if t["name"] == "v2")["last_pulled_at"] is not None

    # Outsiders do not see the private namespace's repository; admins list every tag.
    assert await (await client.get("/api/v1/repositories",
                                   headers=api(world, "outsider"))).json() == []
    hidden = await client.get(f"/api/v1/repositories/{rid}", headers=api(world, "outsider"))
    assert hidden.status == 403
    all_tags = await (await client.get("/api/v1/tags", headers=api(world))).json()
    assert sorted(t["name"] for t in all_tags) == ["latest", "v1", "v2"]
    # Portus's pagination parameters and headers.
    page = await client.get("/api/v1/tags", params={"per_page": "2", "page": "2"},
                            headers=api(world))
    assert (page.headers["X-Total"], page.headers["X-Total-Pages"]) == ("3", "2")
    assert len(await page.json()) == 1
    assert (await client.get("/api/v1/tags", headers=api(world, "owner"))).status == 403
    assert (await client.get("/api/v1/repositories/999", headers=api(world))).status == 404
    assert (await client.get("/api/v1/repositories/x", headers=api(world))).status == 404


async def test_a_delete_pair_is_one_fact_with_every_tag_it_removed(
        client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    await post(client, {"events": [
        event("push", "pub/app", tag="v1", dig=digest(1)),
        event("push", "pub/app", tag="stable", dig=digest(1)),
        event("push", "pub/app", tag="v2", dig=digest(2))]})
    # What Distribution 2.8 sends for one DELETE /v2/pub/app/manifests/<digest>.
    pair = [event("delete", "pub/app", dig=digest(1), request_id="del", actor="owner"),
            event("delete", "pub/app", tag="v1", request_id="del", actor="owner"),
            event("delete", "pub/app", tag="stable", request_id="del", actor="owner")]
    body = await (await post(client, {"events": pair})).json()
    assert (body["recorded"], body["ignored"]) == (1, 2)
    deletes = [e for e in repo_events(client, "pub/app")
               if isinstance(e, Repository.ManifestDeleted)]
    assert [(d.tags, d.actor) for d in deletes] == [(["stable", "v1"], "owner")]
    # A tag deleted alone (OCI distribution 1.1: only the tag event) removes only that tag.
    await post(client, {"events": [event("delete", "pub/app", tag="v2", request_id="t")]})
    alone = [e for e in repo_events(client, "pub/app") if isinstance(e, Repository.TagDeleted)]
    assert [(t.tag, t.digest) for t in alone] == [("v2", digest(2))]


async def test_wrong_secret_bad_media_type_and_malformed_envelopes_record_nothing(
        client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    good = {"events": [event("push", "webns/app", tag="v1", dig=digest(1))]}
    for secret in ("wrong", ""):
        response = await post(client, good, secret=secret)
        assert response.status == 401
        assert "secret" in (await response.json())["message"]
    no_header = await client.post("/v2/webhooks/events", data=json.dumps(good),
                                  headers={"Content-Type": V1})
    assert no_header.status == 401
    assert (await post(client, good, content_type="text/plain")).status == 415
    # Not JSON, not UTF-8, NaN, nested deeper than any envelope (json.loads raised a
    # RecursionError there: a 500), not an envelope, not events.
    for body in (b"{not json", b"", b"\xff\xfe{}", b'{"events": [NaN]}',
                 b'{"events": ' + b"[" * 5000 + b"]" * 5000 + b"}",
                 b"[1]", json.dumps({"events": "x"}).encode(),
                 json.dumps({"events": [{"id": "x", "action": "irrelevant",
                                         "target": {"repository": "a"}}]}).encode(),
                 json.dumps({"events": [event("push", "webns/app", tag="v", dig=digest(1),
                                              media_type="some")]}).encode()):
        response = await post(client, body)
        assert response.status == 400, body
        assert (await response.json())["message"]
    too_big = b'{"events": [' + b" " * (1024 * 1024 + 10) + b"]}"
    assert (await post(client, too_big)).status == 413
    assert repo_events(client, "webns/app") == []

    # One bad event among good ones: the good ones are recorded, the bad one reported.
    mixed = {"events": [event("push", "webns/app", tag="v1", dig=digest(1)), {"id": "nope"},
                        event("push", "webns/app", tag="v2", dig=digest(2))]}
    response = await post(client, mixed, content_type="application/json")
    assert response.status == 202
    body = await response.json()
    assert body["recorded"] == 2 and len(body["rejected"]) == 1
    # The v2 media type of the current docs is accepted too.
    again = await post(client, mixed, content_type="application/vnd.docker.distribution"
                       ".events.v2+json; charset=utf-8")
    assert again.status == 202 and (await again.json())["duplicates"] == 2


async def test_concurrent_envelopes_share_transactions_and_each_event_is_recorded_once(
        client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    """Many envelopes at once (a busy registry): each one's answer counts only its own events,
    redeliveries racing their originals are recorded once, a push and a delete of the same tag
    in one transaction apply in order, and far fewer transactions than envelopes are written."""
    import asyncio

    services = client.app[SERVICES]
    envelopes = []
    for n in range(40):
        repo = f"pub/burst{n % 5}"
        envelopes.append({"events": [
            event("push", repo, tag=f"t{n}", dig=digest(1000 + n), event_id=f"push-{n}"),
            event("pull", repo, tag=f"t{n}", dig=digest(1000 + n), event_id=f"pull-{n}"),
            event("push", repo, dig=digest(5000 + n), media_type="application/octet-stream",
                  event_id=f"blob-{n}")]})
    # The last envelope deletes the tag the first one pushed; four are redelivered at once.
    envelopes.append({"events": [event("delete", "pub/burst0", tag="t0", event_id="del-0")]})
    redelivered = [envelopes[n] for n in (1, 2, 3, 39)]
    changes_before, facts_before = (services.intake._changes.commits,
                                    services.intake._facts.commits)
    responses = await asyncio.gather(*(post(client, body)
                                       for body in envelopes[:40] + redelivered))
    bodies = [await r.json() for r in responses]
    assert all(r.status == 202 for r in responses), bodies
    assert sum(b["recorded"] for b in bodies) == 80  # one push and one pull per envelope
    assert sum(b["duplicates"] for b in bodies) == 8  # the redelivered pushes and pulls
    assert sum(b["ignored"] for b in bodies) == 44  # blob pushes are not recorded
    assert all(b["recorded"] + b["duplicates"] == 2 and b["ignored"] == 1 for b in bodies)
    deleted = await post(client, envelopes[40])
    assert (await deleted.json())["recorded"] == 1

    changes = services.intake._changes.commits - changes_before
    facts = services.intake._facts.commits - facts_before
    assert 1 <= changes < 44 and 1 <= facts < 44, (changes, facts)
    for n in range(5):
        events = repo_events(client, f"pub/burst{n}")
        pushed = [e.tag for e in events if isinstance(e, Repository.TagPushed)]
        assert sorted(pushed) == sorted(f"t{k}" for k in range(n, 40, 5))
    burst0 = repo_events(client, "pub/burst0")
    assert isinstance(burst0[-1], Repository.TagDeleted) and burst0[-1].tag == "t0"
    pulls = services.audit.recorder.select_notifications(
        start=None, limit=100, topics=[get_topic(ManifestPulled)])
    assert sorted(p.originator_id for p in pulls) == sorted(
        {p.originator_id for p in pulls})
    assert len([p for p in pulls if b"pub/burst" in p.state]) == 40


async def test_pull_recording_can_be_switched_off(start_app: AppStarter) -> None:
    client = await start_app(WHARFINGER_REGISTRY_RECORD_PULLS_ENABLED="false")
    await build_world(client)
    pull = event("pull", "pub/app", tag="v1", dig=digest(1))
    body = await (await post(client, {"events": [pull]})).json()
    assert (body["recorded"], body["ignored"]) == (0, 1)
    pulls = client.app[SERVICES].audit.recorder.select_notifications(
        start=None, limit=10, topics=[get_topic(ManifestPulled)])
    assert pulls == []


async def test_health_says_when_the_registry_is_unreachable_and_when_notifications_arrived(
        client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    # The world's registry (registry.test:5000) does not exist: the node is up (200), and the
    # registry component says why the registry is not.
    response = await client.get("/api/v1/health")
    assert response.status == 200
    body = await response.json()
    assert body["database"]["success"] is True
    assert body["registry"]["reachable"] is False and "registry.test" in body["registry"]["msg"]
    assert body["notifications"]["last_received_at"] is None
    assert "notifications" in body["notifications"]["msg"]
    await post(client, {"events": [event("push", "pub/app", tag="v1", dig=digest(1))]})
    body = await (await client.get("/api/v1/health")).json()
    assert body["notifications"]["last_received_at"] is not None
    assert body["notifications"]["seconds_ago"] <= 5


async def test_the_hostname_cannot_change_once_repositories_exist(
        client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    """Portus F17: "Registry is not empty, cannot change hostname"; other fields still change."""
    renamed = await client.put("/api/v1/registries/1", headers=api(world), json={
        "registry": {"hostname": "moved.test:5000"}})
    assert renamed.status == 200 and (await renamed.json())["hostname"] == "moved.test:5000"
    assert (await post(client, {"events": [
        event("push", "webns/app", tag="v1", dig=digest(1))]})).status == 202
    refused = await client.put("/api/v1/registries/1", headers=api(world), json={
        "registry": {"hostname": "elsewhere.test:5000"}})
    assert refused.status == 400
    body = await refused.json()
    assert body["field"] == "hostname" and "not empty" in str(body["message"])
    same = await client.put("/api/v1/registries/1", headers=api(world), json={
        "registry": {"hostname": "moved.test:5000", "use_ssl": True}})
    assert same.status == 200 and (await same.json())["use_ssl"] is True


async def test_a_namespace_holding_repositories_cannot_be_renamed(
        client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    """The registry keeps images under their old path: renaming would orphan them."""
    listed = await (await client.get("/api/v1/namespaces?all=true", headers=api(world))).json()
    [webns] = [n for n in listed if n["name"] == "webns"]
    path = f"/api/v1/namespaces/{webns['id']}"
    renamed = await client.put(path, headers=api(world), json={"namespace": {"name": "webns2"}})
    assert renamed.status == 200 and (await renamed.json())["name"] == "webns2"
    assert (await post(client, {"events": [
        event("push", "webns2/app", tag="v1", dig=digest(1))]})).status == 202
    refused = await client.put(path, headers=api(world), json={"namespace": {"name": "webns3"}})
    assert refused.status == 400
    assert (await refused.json())["field"] == "name"
    described = await client.put(path, headers=api(world), json={
        "namespace": {"name": "webns2", "description": "still editable"}})
    assert described.status == 200


async def test_namespaces_and_teams_holding_repositories_are_not_deleted(
        client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    """The images would stay in the registry with nothing left to see or delete them by."""
    listed = await (await client.get("/api/v1/namespaces?all=true", headers=api(world))).json()
    [webns] = [n for n in listed if n["name"] == "webns"]
    assert (await post(client, {"events": [
        event("push", "webns/app", tag="v1", dig=digest(1))]})).status == 202
    refused = await client.delete(f"/api/v1/namespaces/{webns['id']}", headers=api(world))
    assert refused.status == 422
    body = await refused.json()
    assert body["field"] == "namespace" and "webns/app" in str(body["message"])
    team_id = webns["team"]["id"]
    kept = await client.delete(f"/api/v1/teams/{team_id}", headers=api(world))
    assert kept.status == 422 and (await kept.json())["field"] == "new_team"
    listed = await (await client.get("/api/v1/namespaces?all=true", headers=api(world))).json()
    assert "webns" in [n["name"] for n in listed]


async def test_the_repository_json_counts_its_stars(
        client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    assert (await post(client, {"events": [
        event("push", "webns/app", tag="v1", dig=digest(1))]})).status == 202
    services = client.app[SERVICES]

    async def toggle(who: str) -> None:
        user_id = services.index.user_named(who).id
        await services.execute(lambda: services.store.toggle_star(user_id, "webns/app"),
                               actor=who)

    async def stars() -> int:
        listed = await (await client.get("/api/v1/repositories", headers=api(world))).json()
        shown = await (await client.get(f"/api/v1/repositories/{listed[0]['id']}",
                                        headers=api(world))).json()
        assert listed[0]["stars"] == shown["stars"]
        return int(shown["stars"])

    assert await stars() == 0
    await toggle("viewer")
    await toggle("owner")
    assert await stars() == 2
    await toggle("viewer")  # a second toggle takes the star back
    assert await stars() == 1


async def test_owners_and_admins_describe_a_repository(
        client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    """Portus's `PUT /api/v1/repositories/:id {repository: {description}}` (§3.2 matrix)."""
    assert (await post(client, {"events": [
        event("push", "webns/app", tag="v1", dig=digest(1))]})).status == 202
    listed = await (await client.get("/api/v1/repositories", headers=api(world))).json()
    path = f"/api/v1/repositories/{listed[0]['id']}"

    async def put(who: str, body: Any) -> tuple[int, Any]:
        response = await client.put(path, json=body, headers=api(world, who))
        return response.status, await response.json()

    status, shown = await put("owner", {"repository": {"description": "The **web** app"}})
    assert (status, shown["description"]) == (200, "The **web** app")
    assert (await put("admin", {"description": "flat body"}))[0] == 200
    for who in ("contributor", "viewer", "outsider"):
        assert (await put(who, {"repository": {"description": "mine"}}))[0] == 403, who
    status, error = await put("owner", {"repository": {"description": "x", "name": "y"}})
    assert status == 400 and "name" in str(error)
    status, error = await put("owner", {"repository": {"description": 5}})
    assert status == 400 and "description" in str(error)
    status, error = await put("owner", {"repository": {"description": "x" * 16385}})
    assert status == 400 and "description" in str(error)
    assert (await client.put("/api/v1/repositories/999", json={"description": "x"},
                             headers=api(world))).status == 404
    shown = await (await client.get(path, headers=api(world, "viewer"))).json()
    assert shown["description"] == "flat body"
    # One fact per change, with who made it; the feed tells it.
    changes = [e for e in repo_events(client, "webns/app")
               if isinstance(e, Repository.DescriptionChanged)]
    assert [(e.actor, e.old_description, e.description) for e in changes] == [
        ("owner", "", "The **web** app"), ("admin", "The **web** app", "flat body")]
    await client.app[SERVICES].feed.catch_up()  # the feed is its own (asynchronous) projection
    feed = await (await client.get("/api/v1/activities", params={
        "type": "repository.change_description"}, headers=api(world))).json()
    entries = feed["activities"] if isinstance(feed, dict) else feed
    assert any("changed the description of repository webns/app" in str(a) for a in entries)
