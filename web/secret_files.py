"""Secret files of the data directory, created once with mode 0600 (docker-token-auth.md §3.8).

The registry's webhook secret and the refresh-token HMAC key live here; the token-signing key
(`web.token.keys`) is written by the same `create_once`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from pathlib import Path

# Filesystems that cannot hard-link (some FUSE and SMB mounts) answer with one of these.
_NO_HARD_LINKS = frozenset({errno.EPERM, errno.EOPNOTSUPP, errno.ENOSYS, errno.EMLINK})


def create_once(path: Path, data: bytes, *, mode: int = 0o600) -> bool:
    """Create `path` holding `data` unless it already exists; True if this call created it.

    The file is born with `mode` (never chmod-ed after the secret is in it) and appears
    complete: it is written under a private temporary name and published with `link()`, which,
    like O_EXCL, fails if the name is taken. So when two processes start at once exactly one
    file wins, and the loser never reads a half-written one.
    """
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())  # the name must never point at data lost in a crash
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        except OSError as e:
            if e.errno not in _NO_HARD_LINKS:
                raise
            return _create_in_place(path, data, mode)
        _fsync_directory(path.parent)
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def _create_in_place(path: Path, data: bytes, mode: int) -> bool:
    # Without hard links O_EXCL still picks one winner, but for a moment the file is empty.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return True


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def load_or_create_secret(path: Path, *, nbytes: int = 32) -> str:
    """The url-safe secret in `path`, generated from `nbytes` random bytes on first use."""
    if nbytes < 16:
        raise ValueError(f"a secret needs at least 16 random bytes, not {nbytes}")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    create_once(path, (secrets.token_urlsafe(nbytes) + "\n").encode())
    value = path.read_text().strip()
    if not value:
        raise ValueError(f"{path} is empty; remove it to have a new secret generated")
    return value
