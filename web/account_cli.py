"""`wharfinger user unlock NAME`: end a lockout from the command line (an admin's escape hatch)."""

from __future__ import annotations

import argparse
from typing import Any

from domain.actors import CLI as CLI_ACTOR
from domain.actors import acting_as
from web.services import opened_event_log
from web.settings import Settings


def register(user_actions: Any) -> None:
    """Add `unlock` to the `user` command group (web.cli_manage)."""
    unlock = user_actions.add_parser("unlock", help="unlock an account locked by failed passwords")
    unlock.add_argument("username")
    unlock.set_defaults(func=_unlock)


def _unlock(args: argparse.Namespace, settings: Settings) -> int:
    with opened_event_log(settings) as store, acting_as(CLI_ACTOR):
        user = store.user_named(args.username)
        store.unlock_user(user.id, reason="admin")
    print(f"Unlocked {args.username}.")
    return 0
