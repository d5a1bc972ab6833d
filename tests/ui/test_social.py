"""Stars and comments as events (Portus F28, F29), folded by projections.social, on both
backends."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from domain.errors import ForbiddenError, InvalidInputError
from domain.policy import NamespaceFacts
from domain.social import may_comment
from domain.values import NamespaceKind, Role, Visibility
from tests.web.world import World
from web.appkeys import SERVICES


async def test_stars_toggle_once_per_user_and_comments_are_deleted_by_author_or_admin(
        client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    services = client.app[SERVICES]
    store, social = services.store, services.social
    owner, viewer, admin = (world.user_ids[n] for n in ("owner", "viewer", "admin"))

    # Starring twice is star then unstar, never two stars.
    assert await services.execute(lambda: store.toggle_star(owner, "webns/app")) is True
    assert await services.execute(lambda: store.toggle_star(viewer, "webns/app")) is True
    assert social.stars["webns/app"] == {owner, viewer}
    assert await services.execute(lambda: store.toggle_star(owner, "webns/app")) is False
    assert social.stars["webns/app"] == {viewer}
    assert await services.execute(lambda: store.toggle_star(owner, "webns/app")) is True
    assert social.starred_by(owner) == {"webns/app"}

    # Comments: blank refused; only the author or an admin deletes.
    with pytest.raises(InvalidInputError):
        await services.execute(lambda: store.post_comment(owner, "webns/app", "   "))
    first = await services.execute(lambda: store.post_comment(owner, "webns/app", "<b>hi</b>"))
    second = await services.execute(lambda: store.post_comment(viewer, "webns/app", "second"))
    assert [c.body for c in social.comments_on("webns/app")] == ["<b>hi</b>", "second"]
    with pytest.raises(ForbiddenError):
        await services.execute(lambda: store.delete_comment(first, by=viewer, admin=False))
    await services.execute(lambda: store.delete_comment(first, by=owner, admin=False))
    await services.execute(lambda: store.delete_comment(second, by=admin, admin=True))
    assert social.comments_on("webns/app") == []


@pytest.mark.parametrize(("admin", "visibility", "role", "allowed"), [
    (True, Visibility.PRIVATE, None, True),
    (False, Visibility.PRIVATE, Role.VIEWER, True),
    (False, Visibility.PRIVATE, None, False),
    (False, Visibility.PROTECTED, None, True),
    (False, Visibility.PUBLIC, None, True),
])
def test_who_may_comment(admin: bool, visibility: Visibility, role: Role | None,
                         allowed: bool) -> None:
    from uuid import uuid4

    ns = NamespaceFacts("ns", NamespaceKind.TEAM, visibility, uuid4())
    if allowed:
        may_comment(admin, ns, role)
    else:
        with pytest.raises(ForbiddenError):
            may_comment(admin, ns, role)
