"""Configuration that changes decisions is recorded in the log when the service starts with new
values (push policy and delete switches, `user_permission.*`), and only then."""

from __future__ import annotations

from pathlib import Path

from domain.access_rules import AccessRulesRecord
from domain.management import SwitchesRecord
from eventstore.reader import read_after
from tests.conftest import make_settings
from web.services import running_services


async def start(tmp_path: Path, database_url: str | None, **env: str) -> list[object]:
    settings = make_settings(tmp_path / "data", database_url, **env)
    async with running_services(settings) as services:
        return [logged.event for logged in await services.pool.run(
            read_after, services.store, 0, 1000)]


def recorded(events: list[object]) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    for e in events:
        if isinstance(e, SwitchesRecord.Recorded | SwitchesRecord.Changed):
            out.append((type(e).__name__, e.switches["create_team"]))
        elif isinstance(e, AccessRulesRecord.Recorded | AccessRulesRecord.Changed):
            out.append((type(e).__name__, e.push_policy))
    return out


async def test_switches_are_recorded_when_they_change(tmp_path: Path,
                                                      database_url: str | None) -> None:
    first = recorded(await start(tmp_path, database_url))
    assert first == [("Recorded", "allow-teams"), ("Recorded", True)]
    # Same configuration again: nothing new.
    assert recorded(await start(tmp_path, database_url)) == first
    # New values: one Changed event each, carrying the new value and the system actor.
    events = await start(tmp_path, database_url,
                         WHARFINGER_USER_PERMISSION_CREATE_TEAM_ENABLED="false",
                         WHARFINGER_USER_PERMISSION_PUSH_IMAGES_POLICY="admin-only")
    assert recorded(events) == [*first, ("Changed", "admin-only"), ("Changed", False)]
    assert all(getattr(e, "actor", None) == "system" for e in events
               if isinstance(e, SwitchesRecord.Changed))
