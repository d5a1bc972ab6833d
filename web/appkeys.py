"""Typed application state keys, collected in one module (aiohttp-demos' typedefs pattern)."""

from __future__ import annotations

from aiohttp import web

from web.services import Services
from web.settings import Settings
from web.ui.console import Console

SETTINGS = web.AppKey("settings", Settings)
SERVICES = web.AppKey("services", Services)
CONSOLE = web.AppKey("console", Console)
