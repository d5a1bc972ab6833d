"""Secret files: created once, private from birth, shared by processes that start together."""

from __future__ import annotations

import errno
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from web.secret_files import create_once, load_or_create_secret


def test_a_secret_is_created_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "notification.secret"
    value = load_or_create_secret(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert len(value) >= 40 and value == value.strip()
    assert set(value) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert load_or_create_secret(path) == value
    assert load_or_create_secret(tmp_path / "keys" / "other.secret") != value


def test_nbytes_sets_the_strength(tmp_path: Path) -> None:
    assert len(load_or_create_secret(tmp_path / "long", nbytes=64)) == 86
    with pytest.raises(ValueError, match="at least 16"):
        load_or_create_secret(tmp_path / "short", nbytes=8)


def test_a_secret_written_by_an_operator_is_used_stripped(tmp_path: Path) -> None:
    path = tmp_path / "refresh-token.secret"
    path.write_text("  chosen-by-hand \n")
    assert load_or_create_secret(path) == "chosen-by-hand"
    assert path.read_text() == "  chosen-by-hand \n"


def test_an_empty_secret_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "notification.secret"
    path.write_text("\n")
    with pytest.raises(ValueError, match=r"notification\.secret is empty"):
        load_or_create_secret(path)


def test_threads_starting_at_once_share_one_secret(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "notification.secret"
    barrier = threading.Barrier(16)

    def start() -> str:
        barrier.wait()
        return load_or_create_secret(path)

    with ThreadPoolExecutor(16) as pool:
        values = set(pool.map(lambda _: start(), range(16)))
    assert len(values) == 1
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary files left


def test_create_once_keeps_the_first_file(tmp_path: Path) -> None:
    path = tmp_path / "f"
    assert create_once(path, b"first") is True
    assert create_once(path, b"second") is False
    assert path.read_bytes() == b"first"
    assert create_once(tmp_path / "public", b"x", mode=0o644) is True
    assert (tmp_path / "public").stat().st_mode & 0o777 == 0o644 & ~_umask()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f", "public"]


def test_create_once_works_without_hard_links(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    def no_links(src: object, dst: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    path = tmp_path / "f"
    assert create_once(path, b"first") is True
    assert create_once(path, b"second") is False
    assert path.read_bytes() == b"first" and path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_create_once_reports_other_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        create_once(tmp_path / "missing-dir" / "f", b"x")


def _umask() -> int:
    # Reading the umask means setting it; put it straight back.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
