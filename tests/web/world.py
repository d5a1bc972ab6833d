"""A small, realistic world of users, teams and namespaces for HTTP tests, built by commands."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from uuid import UUID

from aiohttp.test_utils import TestClient

from domain.values import Role, Visibility
from web.app_tokens import hash_token, new_token
from web.appkeys import SERVICES
from web.passwords import hash_password

SERVICE = "registry.test:5000"
PASSWORD = "correct horse battery"
_PASSWORD_HASH = hash_password(PASSWORD)  # argon2 is slow on purpose: hash once per run


def basic(username: str, password: str) -> dict[str, str]:
    raw = f"{username}:{password}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


@dataclass
class World:
    tokens: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, UUID] = field(default_factory=dict)
    team_id: UUID | None = None
    namespace_ids: dict[str, UUID] = field(default_factory=dict)

    def basic(self, username: str, secret: str | None = None) -> dict[str, str]:
        return basic(username, secret if secret is not None else self.tokens[username])


async def build_world(client: TestClient,  # type: ignore[type-arg]
                      service: str = SERVICE) -> World:
    """admin; team `web` (owner, contributor, viewer) owning private `webns`, protected `prot`
    and public `pub`; `outsider` in no team; everyone has a personal namespace."""
    services = client.app[SERVICES]
    store = services.store
    world = World()

    def make_users() -> None:
        for name in ("admin", "owner", "contributor", "viewer", "outsider"):
            user = store.register_user(username=name, email=f"{name}@example.org",
                                       password_hash=_PASSWORD_HASH, admin=name == "admin")
            token = new_token()
            store.create_application_token(user.id, "tests", hash_token(token))
            world.tokens[name], world.user_ids[name] = token, user.id
        store.register_registry(name="main", hostname=service)
        team = store.create_team(name="web", owner_id=world.user_ids["owner"])
        world.team_id = team.id
        store.add_member(team.id, world.user_ids["contributor"], Role.CONTRIBUTOR)
        store.add_member(team.id, world.user_ids["viewer"], Role.VIEWER)
        for name, visibility in (("webns", Visibility.PRIVATE), ("prot", Visibility.PROTECTED),
                                 ("pub", Visibility.PUBLIC)):
            ns = store.create_namespace(name=name, team_id=team.id, visibility=visibility)
            world.namespace_ids[name] = ns.id

    await services.execute(make_users)
    return world
