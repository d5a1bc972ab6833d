"""The `wharfinger` command line: serve, bootstrap the first admin, wire up the registry."""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import json
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import psycopg
from aiohttp import web

from domain.actors import CLI as CLI_ACTOR
from domain.actors import acting_as
from domain.errors import DomainError
from eventstore.location import StoreConfigError
from web import audit_cli, cli_feed, cli_manage, delete_cli, sync_cli
from web.app import create_app
from web.app_tokens import hash_token, new_token
from web.passwords import check_new_password, hash_password
from web.registry_config import registry_config_yaml
from web.secret_files import load_or_create_secret
from web.services import opened_event_log, signing_key_of, store_location
from web.settings import ConfigError, Settings, load_settings


class CliError(Exception):
    """A one-line message for the user; the command exits non-zero."""


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(os.environ if env is None else env)
        command: Callable[[argparse.Namespace, Settings], int] = args.func
        return command(args, settings)
    except (CliError, ConfigError, StoreConfigError) as e:
        print(f"wharfinger: error: {e}", file=sys.stderr)
        return 2
    except DomainError as e:
        where = f"{e.field}: " if e.field else ""
        print(f"wharfinger: error: {where}{e.message}", file=sys.stderr)
        return 1
    except psycopg.OperationalError as e:
        # PostgreSQL unreachable (or lost): as a store that cannot be opened (exit 1, one line).
        detail = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"wharfinger: error: cannot use the database: {detail}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wharfinger", description="Authorization service for Docker registries.")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the token service, API and registry webhook")
    serve.add_argument("--listen", default=None, metavar="HOST:PORT",
                       help="address to listen on (default $WHARFINGER_LISTEN or 127.0.0.1:5080)")
    serve.set_defaults(func=_serve)

    boot = sub.add_parser("bootstrap",
                          help="create the first admin (only while there are no users)")
    boot.add_argument("--username", required=True)
    boot.add_argument("--email", required=True)
    boot.add_argument("--password-stdin", action="store_true",
                      help="read the password from standard input instead of prompting")
    boot.add_argument("--json", action="store_true", help="print the result as JSON")
    boot.set_defaults(func=_bootstrap)

    registry = sub.add_parser("registry", help="manage the registry Wharfinger authorizes for")
    registry_sub = registry.add_subparsers(required=True, metavar="ACTION")
    create = registry_sub.add_parser("create", help="register the registry")
    create.add_argument("--name", required=True)
    create.add_argument("--hostname", required=True,
                        help="host[:port] of the registry as it names itself (its `service`)")
    create.add_argument("--external-hostname", default="")
    create.add_argument("--use-ssl", action="store_true")
    create.add_argument("--json", action="store_true")
    create.set_defaults(func=_registry_create)

    config = sub.add_parser("registry-config",
                            help="print the auth and notifications YAML for Distribution")
    config.add_argument("--service", required=True,
                        help="the registry's service name (its hostname as registered)")
    config.add_argument("--url", default="http://127.0.0.1:5080",
                        help="Wharfinger's base URL as the registry and clients reach it")
    config.add_argument("--rootcertbundle", default=None, metavar="PATH",
                        help="Wharfinger's certificate as the registry sees it, when that is not"
                             " this machine's path (another container; copy the file there)")
    config.set_defaults(func=_registry_config)
    audit_cli.register(sub)
    cli_manage.register(sub)
    cli_feed.register(sub)
    sync_cli.register(sub)
    delete_cli.register(sub)
    return parser


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    listen = args.listen or os.environ.get("WHARFINGER_LISTEN") or "127.0.0.1:5080"
    host, sep, port_text = listen.rpartition(":")
    if not sep or not port_text.isdigit() or not host:
        raise CliError(f"--listen must be HOST:PORT, got {listen!r}")
    asyncio.run(_run_server(settings, host.strip("[]"), int(port_text)))
    return 0


async def _run_server(settings: Settings, host: str, port: int) -> None:
    from web.appkeys import SERVICES

    runner = web.AppRunner(serving_app(settings))
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as e:
            raise CliError(f"cannot listen on {host}:{port}: {e.strerror}") from None
        services = runner.app[SERVICES]
        print(f"Wharfinger listening on http://{host}:{port}", flush=True)
        print(f"  event store: {store_location(settings).describe()}", flush=True)
        print(f"  token realm: http://{host}:{port}/v2/token   issuer: {settings.issuer}",
              flush=True)
        has_users = await services.pool.run(services.store.has_users)
        if not has_users:
            print("  No users yet. Create the first admin with:\n"
                  "    wharfinger bootstrap --username admin --email admin@example.com\n"
                  f"  or: curl -X POST http://{host}:{port}/api/v1/users/bootstrap"
                  " -H 'Content-Type: application/json'"
                  " -d '{\"username\":\"admin\",\"email\":\"admin@example.com\","
                  "\"password\":\"…\"}'", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()


def serving_app(settings: Settings) -> web.Application:
    """The app as `serve` runs it: `create_app`'s, and once start-up has loaded the read
    models (every cleanup context has run: aiohttp runs them before later start-up hooks),
    they are frozen out of the garbage collector's sight."""
    app = create_app(settings)
    app.on_startup.append(_freeze_on_startup)
    return app


async def _freeze_on_startup(app: web.Application) -> None:
    _freeze_loaded_read_models()


def _freeze_loaded_read_models() -> None:
    """Take what start-up loaded (the in-memory read models, caught up from the log) out of
    the cyclic garbage collector's sight. A full collection walks every tracked object and
    pauses the event loop meanwhile: ~150 ms with 100k users, 10k teams and 50k namespaces
    loaded (`make bench`, projection memory), a token request's latency spike each time; after
    gc.freeze(), under 1 ms. Frozen objects are still freed by reference counting when
    dropped; only reference cycles among them would outlive their last use, and the read
    models are kept for the life of the process anyway. Only `serve` does this: tests start
    many apps in one process, whose cycles must stay collectable."""
    gc.collect()
    gc.freeze()


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = getpass.getpass("Password for the first admin: ")
        if password != getpass.getpass("Repeat it: "):
            raise CliError("the passwords differ")
    else:
        raise CliError("no terminal to ask for a password: pass --password-stdin")
    try:
        return check_new_password(password)
    except DomainError as e:
        raise CliError(f"password {e.message}") from None


def _bootstrap(args: argparse.Namespace, settings: Settings) -> int:
    if not settings["first_user_admin.enabled"]:
        raise CliError("first_user_admin is disabled in the configuration")
    password_hash = hash_password(_read_password(args))
    token = new_token()
    with opened_event_log(settings) as store, acting_as(CLI_ACTOR):
        user, _ = store.bootstrap_admin(username=args.username, email=args.email,
                                        password_hash=password_hash,
                                        token_hash=hash_token(token))
    _print(args, {"id": str(user.id), "username": user.username, "application": "bootstrap",
                  "plain_token": token},
           f"Created admin {user.username}.\n"
           f"Application token (shown once; use it as the password or as Portus-Auth):\n"
           f"  {token}")
    return 0


def _registry_create(args: argparse.Namespace, settings: Settings) -> int:
    with opened_event_log(settings) as store, acting_as(CLI_ACTOR):
        registry = store.register_registry(
            name=args.name, hostname=args.hostname,
            external_hostname=args.external_hostname, use_ssl=args.use_ssl)
    _print(args, {"id": str(registry.id), "name": registry.name, "hostname": registry.hostname,
                  "external_hostname": registry.external_hostname, "use_ssl": registry.use_ssl},
           f"Registered registry {registry.name} ({registry.hostname}).\n"
           f"Next: wharfinger registry-config --service {registry.hostname}")
    return 0


def _registry_config(args: argparse.Namespace, settings: Settings) -> int:
    base = args.url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise CliError(f"--url must start with http:// or https://, got {args.url!r}")
    if args.rootcertbundle is not None and not Path(args.rootcertbundle).is_absolute():
        raise CliError(f"--rootcertbundle must be an absolute path, got {args.rootcertbundle!r}")
    key = signing_key_of(settings)
    secret = load_or_create_secret(settings.keys_dir / "notification.secret")
    print(registry_config_yaml(
        realm=f"{base}/v2/token", service=args.service, issuer=settings.issuer,
        rootcertbundle=(Path(args.rootcertbundle) if args.rootcertbundle
                        else key.certificate_path.resolve()),
        notification_url=f"{base}/v2/webhooks/events", notification_secret=secret), end="")
    return 0


def _print(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    print(json.dumps(data, indent=2) if getattr(args, "json", False) else text)


if __name__ == "__main__":
    raise SystemExit(main())
