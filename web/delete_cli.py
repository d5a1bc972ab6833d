"""`wharfinger delete`: delete a tag, a repository or a namespace's repositories via the registry.

The CLI acts as an admin (actor `cli`), but still obeys `delete.enabled`. Deleting a tag whose
digest carries other tags lists them and needs `--yes` (Distribution 2.8 deletes by digest).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable
from typing import Any

from domain.actors import CLI as CLI_ACTOR
from domain.actors import acting_as
from domain.application import Wharfinger
from domain.errors import InvalidInputError, NotAllowedError, NotFoundError
from domain.repositories import split_repository
from web.blocking import BlockingPool
from web.registry_client import registry_client, target_of
from web.registry_delete import delete_repository, delete_tag
from web.services import opened_event_log, signing_key_of
from web.settings import Settings
from web.token.keys import SigningKey


def register(sub: Any) -> None:
    delete = sub.add_parser(
        "delete", help="delete a tag (REPO:TAG), a repository (REPO) or --namespace NAME's "
                       "repositories through the registry")
    delete.add_argument("reference", nargs="?", help="ns/app:v1 or ns/app")
    delete.add_argument("--namespace", help="delete every repository of this namespace")
    delete.add_argument("--yes", action="store_true",
                        help="confirm that sibling tags on the same digest go too")
    delete.add_argument("--json", action="store_true")
    delete.set_defaults(func=_delete)


def _delete(args: argparse.Namespace, settings: Settings) -> int:
    if not settings["delete.enabled"]:
        raise NotAllowedError("this instance has disabled deletes (delete.enabled)")
    if bool(args.reference) == bool(args.namespace):
        raise InvalidInputError("give either REPO[:TAG] or --namespace NAME")
    with opened_event_log(settings) as store:
        deleted = asyncio.run(_run(store, signing_key_of(settings), settings, args))
    if args.json:
        print(json.dumps({"deleted": deleted}, indent=2))
    else:
        for repository, tags in deleted.items():
            print(f"deleted {repository}: {', '.join(tags) if tags else '(no tags)'}")
    return 0


async def _run(store: Wharfinger, key: SigningKey, settings: Settings,
               args: argparse.Namespace) -> dict[str, list[str]]:
    pool = BlockingPool(max_workers=2)
    try:
        registry = await pool.run(store.get_registry)
        if registry is None:
            raise NotFoundError("no registry is registered", field="registry")

        async def record(command: Callable[[], list[str]]) -> list[str]:
            def as_cli() -> list[str]:
                with acting_as(CLI_ACTOR):
                    return command()

            return await pool.run(as_cli)

        async with registry_client(target_of(registry.hostname, registry.use_ssl), key,
                                   settings) as client:
            if args.namespace:
                names = [n for n in await pool.run(store.repository_names)
                         if split_repository(n)[0] == args.namespace]
                deleted: dict[str, list[str]] = {}
                for name in names:
                    _, tags = await pool.run(store.repository_state, name)
                    if tags:
                        deleted[name] = await delete_repository(
                            store, pool, client, record, name, subject=CLI_ACTOR)
                return deleted
            name, colon, tag = str(args.reference).rpartition(":")
            if not colon or "/" in tag:
                name, tag = str(args.reference), ""
            if tag:
                return {name: await delete_tag(store, pool, client, record, name, tag,
                                               subject=CLI_ACTOR, confirm_siblings=args.yes)}
            return {name: await delete_repository(store, pool, client, record, name,
                                                  subject=CLI_ACTOR)}
    finally:
        await asyncio.to_thread(pool.shutdown)
