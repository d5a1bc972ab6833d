"""Every console form refuses a field over its limit whole: a 4xx naming the field, and no event
(a truncated value was once saved as if it had been typed). Both backends."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from tests.ui.test_console_http import csrf_of, sign_in
from tests.web.world import World
from web.appkeys import SERVICES

Client = TestClient  # type: ignore[type-arg]

LONG = "a" * 20000

# (who, page with the form, action, fields, the field named)
FORMS = [
    ("owner", "/profile", "/profile", {"email": "o@example.org", "display_name": LONG},
     "display_name"),
    ("owner", "/profile", "/profile/tokens", {"application": LONG}, "application"),
    ("owner", "/teams", "/teams", {"name": "long-desc", "description": LONG}, "description"),
    ("owner", "/teams/web", "/teams/web/settings", {"name": "web", "description": LONG},
     "description"),
    ("owner", "/namespaces", "/namespaces",
     {"name": "longdesc", "team": "web", "description": LONG}, "description"),
    ("owner", "/namespaces/webns", "/namespaces/webns/description", {"description": LONG},
     "description"),
    ("admin", "/admin/registry", "/admin/registry/settings",
     {"name": LONG, "hostname": "registry.test:5000", "external_hostname": ""}, "name"),
    ("admin", "/admin/users/viewer/edit", "/admin/users/viewer/edit",
     {"email": "v@example.org", "display_name": "x" * 2000, "password": ""}, "display_name"),
]


@pytest.mark.parametrize(("who", "page", "action", "fields", "named"), FORMS,
                         ids=[f[2] for f in FORMS])
async def test_a_field_over_its_limit_is_refused_whole(
        client: Client, world: World, who: str, page: str, action: str,
        fields: dict[str, str], named: str) -> None:
    services = client.app[SERVICES]
    await sign_in(client, who)
    token = csrf_of(await (await client.get(page)).text())
    before = services.store.recorder.max_notification_id()
    answer = await client.post(action, data={**fields, "_csrf": token}, allow_redirects=False)
    html = await answer.text()
    assert 400 <= answer.status < 500, (answer.status, html[:200])
    assert f'id="e-{named}"' in html and "is too long" in html
    assert services.store.recorder.max_notification_id() == before
