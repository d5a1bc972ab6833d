"""Secrets kept in files of the data directory, created once with mode 0600."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def load_or_create_secret(path: Path, *, nbytes: int = 32) -> str:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass  # created earlier, or by a process starting at the same time
    else:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(nbytes) + "\n")
    value = path.read_text().strip()
    if not value:
        raise ValueError(f"{path} is empty; remove it to have a new secret generated")
    return value
