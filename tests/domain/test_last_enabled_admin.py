"""F7 under concurrency: two admins taking each other away (disable, revoke the admin flag,
delete the account, in any pairing) never leave the registry without an enabled admin.

The race is made deterministic: while the first command runs, the second one runs to completion
right after the first has read one particular aggregate (the guard, its target, the admins team,
or the other admin), so every order of reads and writes that matters is tried on both backends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from itertools import count, product
from typing import Any
from uuid import UUID

import pytest

from domain.application import Wharfinger
from domain.errors import DomainError
from domain.management import ADMIN_GUARD_ID
from domain.management_policy import UnprocessableError
from domain.registries import ADMINS_TEAM_ID
from eventstore.location import StoreLocation
from eventstore.open import open_log

ACTIONS: dict[str, Callable[[Wharfinger, UUID], object]] = {
    "disable": lambda app, user_id: app.set_user_enabled(user_id, False),
    "revoke": lambda app, user_id: app.revoke_admin(user_id),
    "delete": lambda app, user_id: app.delete_user(user_id, team_ids=[ADMINS_TEAM_ID],
                                                   personal=[]),
}
POINTS = ("guard", "target", "admins team", "other admin")


class Admins:
    """A store with a registry, handing out fresh pairs of enabled admins; the survivor of the
    previous pair is disabled first, so each pair is the only enabled admins there are."""

    def __init__(self, app: Wharfinger) -> None:
        self.app = app
        self.serial = count()
        self.survivor: UUID | None = None

    def pair(self) -> tuple[UUID, UUID]:
        made = []
        for _ in range(2):
            name = f"admin{next(self.serial)}"
            user = self.app.register_user(username=name, email=f"{name}@example.org",
                                          password_hash=None, admin=True)
            made.append(user.id)
        if self.survivor is not None:
            self.app.set_user_enabled(self.survivor, False)
        return made[0], made[1]

    def enabled(self, *user_ids: UUID) -> set[UUID]:
        users = (self.app.get_user(u) for u in user_ids)
        return {u.id for u in users if u.admin and u.enabled and not u.deleted}


@pytest.fixture
def admins(location: StoreLocation) -> Iterator[Admins]:
    app = open_log(location, Wharfinger, "events")
    app.register_registry(name="registry", hostname="registry.test:5000")
    yield Admins(app)
    app.close()


def run_interleaved(app: Wharfinger, first: Callable[[], object], second: Callable[[], object],
                    after_reading: UUID) -> tuple[Exception | None, Exception | None]:
    """Run `first`; the moment it has read `after_reading` (the first time), run `second` to
    completion. Returns what each raised (None if it succeeded)."""
    outcome: dict[str, Exception | None] = {}
    find = app._find

    def find_then_interleave(cls: type[Any], aggregate_id: UUID) -> Any:
        found = find(cls, aggregate_id)
        if aggregate_id == after_reading and "second" not in outcome:
            outcome["second"] = None
            try:
                second()
            except DomainError as error:
                outcome["second"] = error
        return found

    app._find = find_then_interleave  # type: ignore[method-assign]
    try:
        first()
        outcome["first"] = None
    except DomainError as error:
        outcome["first"] = error
    finally:
        del app._find
    assert "second" in outcome, f"the first command never read {after_reading}"
    return outcome["first"], outcome["second"]


@pytest.mark.parametrize(("first", "second"), list(product(ACTIONS, repeat=2)))
def test_two_admins_taking_each_other_away_keep_one(admins: Admins, first: str,
                                                    second: str) -> None:
    for point in POINTS:
        target, other = admins.pair()
        after_reading = {"guard": ADMIN_GUARD_ID, "target": target,
                         "admins team": ADMINS_TEAM_ID, "other admin": other}[point]
        first_error, second_error = run_interleaved(
            admins.app, partial(ACTIONS[first], admins.app, target),
            partial(ACTIONS[second], admins.app, other), after_reading)
        where = f"{first} {target} while {second} {other} ran after reading the {point}"
        # The second ran while both were enabled admins: it wins; the first must refuse.
        assert second_error is None, where
        assert isinstance(first_error, UnprocessableError), (where, first_error)
        assert "last enabled admin" in str(first_error)
        assert admins.enabled(target, other) == {target}, where
        admins.survivor = target


@pytest.mark.parametrize("action", list(ACTIONS))
def test_one_of_two_admins_may_go(admins: Admins, action: str) -> None:
    target, other = admins.pair()
    ACTIONS[action](admins.app, target)
    assert admins.enabled(target, other) == {other}
    with pytest.raises(UnprocessableError, match="last enabled admin"):
        ACTIONS[action](admins.app, other)
    assert admins.enabled(other) == {other}
