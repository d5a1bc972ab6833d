"""Typed application state keys, collected in one module (aiohttp-demos' typedefs pattern)."""

from __future__ import annotations

from aiohttp import web

from web.log_verification import VerificationGate
from web.services import Services
from web.settings import Settings
from web.ui.console import Console

SETTINGS = web.AppKey("settings", Settings)
SERVICES = web.AppKey("services", Services)
CONSOLE = web.AppKey("console", Console)
VERIFICATION_GATE = web.AppKey("verification_gate", VerificationGate)
