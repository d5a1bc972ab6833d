"""Imports point inward only (style.md): web → projections → domain, eventstore → domain."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "domain": {"web", "projections", "eventstore", "aiohttp", "psycopg", "psycopg_pool", "jwt",
               "ldap3", "argon2", "yaml", "eventsourcing.postgres", "eventsourcing.sqlite"},
    "eventstore": {"web", "projections"},
    "projections": {"web"},
}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_inward(package: str) -> None:
    offences = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in imported_modules(path):
            if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[package]):
                offences.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offences == []
