"""`/api/v1/namespaces` (portus.md §1.4, F18-F22) and listings consistent with pull (§7.12)."""

from __future__ import annotations

from typing import Any

from tests.web.api.helpers import Api
from tests.web.world import SERVICE

NS_KEYS = {"id", "name", "created_at", "updated_at", "description", "team", "visibility",
           "global"}


async def names(api: Api, who: str) -> list[str]:
    listed: list[dict[str, Any]] = await api.ok("GET", "/api/v1/namespaces?all=true", who=who)
    return sorted(n["name"] for n in listed)


async def ns_id(api: Api, name: str) -> int:
    return api.id_of(api.world.namespace_ids[name])


async def test_listings_follow_pull_rights(api: Api) -> None:
    # The outsider sees the global namespace (shown as the registry's host), his own, and the
    # protected and public ones; Portus hid protected ones (§7.12).
    assert await names(api, "outsider") == sorted([SERVICE, "outsider", "prot", "pub"])
    assert await names(api, "viewer") == sorted([SERVICE, "viewer", "prot", "pub", "webns"])
    everything = await names(api, "admin")
    assert len(everything) == 1 + 5 + 3
    shown = await api.ok("GET", f"/api/v1/namespaces/{await ns_id(api, 'prot')}", who="outsider")
    assert set(shown) == NS_KEYS and shown["visibility"] == "protected"
    assert shown["team"]["name"] == "web" and not shown["team"]["hidden"]
    private = await api.call("GET", f"/api/v1/namespaces/{await ns_id(api, 'webns')}",
                             who="outsider")
    assert private.status == 403
    assert (await api.call("GET", "/api/v1/namespaces/999")).status == 404
    assert (await api.call("GET", "/api/v1/namespaces/abc")).status == 404
    repos = await api.ok("GET", f"/api/v1/namespaces/{await ns_id(api, 'pub')}/repositories",
                         who="outsider")
    assert isinstance(repos, list)


async def test_create_and_validate(api: Api) -> None:
    created = await api.ok("POST", "/api/v1/namespaces", who="contributor",
                           json={"name": "tools", "team": "web", "description": "d"}, status=201)
    assert created["visibility"] == "private" and created["team"]["name"] == "web"
    refusals = [
        ("viewer", {"name": "a1", "team": "web"}, 403),
        ("outsider", {"name": "a2", "team": "web"}, 403),
        ("owner", {"name": "tools", "team": "web"}, 409),
        ("owner", {"name": "Bad Name", "team": "web"}, 400),
        ("owner", {"name": "x" * 256, "team": "web"}, 400),
        ("owner", {"name": "a3", "team": "nowhere"}, 404),
        ("owner", {"name": "a4", "team": "portus_global_team_1"}, 404),
        ("owner", {"team": "web"}, 400),
        ("owner", {"name": 5, "team": "web"}, 400),
    ]
    for who, body, status in refusals:
        response = await api.call("POST", "/api/v1/namespaces", who=who, json=body)
        assert response.status == status, (who, body, await response.text())
        assert "message" in await response.json()
    valid = await api.ok("GET", "/api/v1/namespaces/validate?name=fresh", who="viewer")
    assert valid == {"valid": True, "messages": {}}
    taken = await api.ok("GET", "/api/v1/namespaces/validate?name=tools", who="viewer")
    assert taken == {"valid": False, "messages": {"name": ["has already been taken"]}}
    bad = await api.ok("GET", "/api/v1/namespaces/validate?name=-x", who="viewer")
    assert bad["valid"] is False and "name" in bad["messages"]


async def test_update_visibility_transfer_and_rename(api: Api) -> None:
    webns = await ns_id(api, "webns")
    path = f"/api/v1/namespaces/{webns}"
    # Owners change visibility; contributors do not; unknown kinds are named.
    assert (await api.ok("PUT", path, who="owner",
                         json={"namespace": {"visibility": "protected"}}))["visibility"] == (
        "protected")
    assert (await api.call("PUT", path, who="contributor",
                           json={"namespace": {"visibility": "public"}})).status == 403
    unknown = await api.call("PUT", path, who="owner",
                             json={"namespace": {"visibility": "secret"}})
    assert unknown.status == 400
    assert (await unknown.json())["message"] == {
        "visibility": ["unknown visibility kind 'secret'"]}
    # Rename and describe; the old name is free.
    renamed = await api.ok("PUT", path, who="owner",
                           json={"namespace": {"name": "webapp", "description": "new"}})
    assert renamed["name"] == "webapp" and renamed["description"] == "new"
    assert (await api.ok("GET", "/api/v1/namespaces/validate?name=webns", who="owner"))["valid"]
    # Transfer to another team the owner is in; unknown teams are named.
    await api.ok("POST", "/api/v1/teams", who="owner", json={"name": "ops"}, status=201)
    moved = await api.ok("PUT", path, who="owner", json={"namespace": {"team": "ops"}})
    assert moved["team"]["name"] == "ops"
    missing = await api.call("PUT", path, who="owner", json={"namespace": {"team": "zzz"}})
    assert missing.status == 404
    assert (await missing.json())["message"] == {"team": ["unknown team 'zzz'"]}


async def test_global_and_personal_namespaces_are_special(api: Api) -> None:
    listed = await api.ok("GET", "/api/v1/namespaces?all=true")
    global_ns = next(n for n in listed if n["global"])
    path = f"/api/v1/namespaces/{global_ns['id']}"
    never_private = await api.call("PUT", path, json={"namespace": {"visibility": "private"}})
    assert never_private.status == 400
    await api.ok("PUT", path, json={"namespace": {"visibility": "protected"}})
    assert (await api.call("DELETE", path)).status == 422
    assert (await api.call("PUT", path, who="outsider",
                           json={"namespace": {"visibility": "public"}})).status == 403
    # A personal namespace: its owner changes its visibility, nobody deletes it.
    personal = next(n for n in await api.ok("GET", "/api/v1/namespaces", who="outsider")
                    if n["name"] == "outsider")
    ppath = f"/api/v1/namespaces/{personal['id']}"
    await api.ok("PUT", ppath, who="outsider", json={"namespace": {"visibility": "public"}})
    assert (await api.call("DELETE", ppath, who="outsider")).status == 422
    assert (await api.call("DELETE", ppath)).status == 422


async def test_delete_namespace_rules(api: Api) -> None:
    pub = f"/api/v1/namespaces/{await ns_id(api, 'pub')}"
    assert (await api.call("DELETE", pub, who="contributor")).status == 403
    assert (await api.call("DELETE", pub, who="viewer")).status == 403
    await api.ok("DELETE", pub, who="owner", status=204)
    assert (await api.call("GET", pub, who="owner")).status == 404
    # Its name is free again; the new namespace gets a new id.
    again = await api.ok("POST", "/api/v1/namespaces", who="owner",
                         json={"name": "pub", "team": "web"}, status=201)
    assert f"/api/v1/namespaces/{again['id']}" != pub


async def test_pagination_and_ordering_headers(api: Api) -> None:
    response = await api.call("GET", "/api/v1/users?per_page=2&page=2&sort_attr=username"
                                     "&sort_order=desc")
    assert response.status == 200
    page = [u["username"] for u in await response.json()]
    assert page == ["outsider", "contributor"]  # viewer, owner | outsider, contributor | admin
    h = response.headers
    assert (h["X-Total"], h["X-Total-Pages"], h["X-Page"], h["X-Per-Page"]) == ("5", "3", "2", "2")
    assert (h["X-Next-Page"], h["X-Prev-Page"]) == ("3", "1")
    assert 'rel="next"' in h["Link"] and 'rel="prev"' in h["Link"] and 'rel="last"' in h["Link"]
    everything = await api.call("GET", "/api/v1/users?all=true&per_page=1")
    assert len(await everything.json()) == 5 and everything.headers["X-Total-Pages"] == "1"
    for bad in ("page=0", "per_page=-1", "page=x", "all=maybe"):
        refused = await api.call("GET", f"/api/v1/users?{bad}")
        assert refused.status == 400, bad
        assert isinstance((await refused.json())["message"], dict)
    # Unknown sort attributes fall back to the id, as in Portus.
    ids = [u["id"] for u in await api.ok("GET", "/api/v1/users?sort_attr=nope")]
    assert ids == sorted(ids)
