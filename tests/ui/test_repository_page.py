"""The repository page over HTTP: the description (admins and the team's owners, as the API), and
comment errors next to the field with nothing posted (both backends)."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from domain.social import MAX_COMMENT_LENGTH
from tests.ui.test_console_http import csrf_of, sign_in
from tests.web.test_registry_events import digest, event, post
from tests.web.world import World
from web.appkeys import SERVICES

Client = TestClient  # type: ignore[type-arg]


async def pushed(client: Client) -> int:
    assert (await post(client, {"events": [
        event("push", "webns/app", tag="v1", dig=digest(1))]})).status == 202
    repo = client.app[SERVICES].catalog.by_full_name("webns/app")
    assert repo is not None
    return repo.id


async def test_owners_describe_a_repository_and_viewers_may_not(
        client: Client, world: World) -> None:
    services = client.app[SERVICES]
    repo_id = await pushed(client)
    await sign_in(client, "owner")
    page = await (await client.get(f"/repositories/{repo_id}")).text()
    assert "No description." in page
    assert f'action="/repositories/{repo_id}/description"' in page
    saved = await client.post(f"/repositories/{repo_id}/description", data={
        "description": "<script>alert(1)</script> the app", "_csrf": csrf_of(page)})
    html = await saved.text()
    assert saved.status == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt; the app" in html and "<script>alert" not in html
    assert services.catalog.by_full_name("webns/app").description.endswith("the app")  # type: ignore[union-attr]
    # Too long: named next to the field, kept, nothing saved.
    long = await client.post(f"/repositories/{repo_id}/description", data={
        "description": "x" * 20000, "_csrf": csrf_of(html)})
    body = await long.text()
    assert long.status == 422 and 'id="e-description">Description is too long' in body
    assert services.catalog.by_full_name("webns/app").description.endswith("the app")  # type: ignore[union-attr]
    # A viewer sees the description, is not offered the form, and is refused the post.
    await sign_in(client, "viewer")
    page = await (await client.get(f"/repositories/{repo_id}")).text()
    assert "the app" in page and "/description" not in page
    refused = await client.post(f"/repositories/{repo_id}/description", data={
        "description": "mine now", "_csrf": csrf_of(page)})
    assert refused.status == 403
    assert services.catalog.by_full_name("webns/app").description.endswith("the app")  # type: ignore[union-attr]


async def test_a_comment_too_long_is_refused_whole_and_named_next_to_the_field(
        client: Client, world: World) -> None:
    services = client.app[SERVICES]
    repo_id = await pushed(client)
    await sign_in(client, "viewer")
    page = await (await client.get(f"/repositories/{repo_id}")).text()
    long = await client.post(f"/repositories/{repo_id}/comments", data={
        "body": "y" * (MAX_COMMENT_LENGTH + 10), "_csrf": csrf_of(page)})
    body = await long.text()
    assert long.status == 422
    assert f'id="e-body">Comment is too long (maximum is {MAX_COMMENT_LENGTH}' in body
    assert services.social.comments_on("webns/app") == []  # not posted cut short
    blank = await client.post(f"/repositories/{repo_id}/comments", data={
        "body": "   ", "_csrf": csrf_of(page)})
    assert blank.status == 400 and 'id="e-body">Comment can&#39;t be blank' in await blank.text()
    assert services.social.comments_on("webns/app") == []
