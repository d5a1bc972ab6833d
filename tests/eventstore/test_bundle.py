"""Evidence bundles: exported by the CLI from SQLite and PostgreSQL, checked offline, and refused
after any byte changes, any truncation, or a forged history (even one re-signed with the key)."""

from __future__ import annotations

import base64
import json
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from domain.application import Wharfinger
from domain.values import Role
from eventstore.bundle import sign_manifest, verify_bundle
from eventstore.location import StoreLocation
from eventstore.open import open_log
from tests.web.test_cli import cli_env
from web.checkpoint_key import load_or_create_signer
from web.cli import main
from web.settings import Settings


def now() -> str:
    time.sleep(0.002)
    stamp = datetime.now(UTC).isoformat()
    time.sleep(0.002)
    return stamp


@pytest.fixture
def exported(settings: Settings, tmp_path: Path,
             capsys: pytest.CaptureFixture[str]) -> tuple[Path, str, Path, Settings]:
    """A bundle of the middle of a history, and a checkpoint the auditor kept before it."""
    env = cli_env(settings)
    location = StoreLocation.from_settings(settings.data_dir, settings.database_url)
    store = open_log(location, Wharfinger, "events")
    try:
        # Step 1: a history before the range, with a checkpoint the auditor keeps.
        store.register_registry(name="main", hostname="registry.test")
        ids = [store.register_user(username=f"user{i}", email=f"u{i}@example.org",
                                   password_hash=None).id for i in range(3)]
        team = store.create_team(name="web", owner_id=ids[0])
    finally:
        store.close()
    kept = tmp_path / "kept-checkpoint.txt"
    assert main(["audit", "checkpoint", "--log", "events", "--out", str(kept)], env) == 0
    assert "Wrote the checkpoint of events" in capsys.readouterr().out
    assert main(["audit", "key"], env) == 0
    key = capsys.readouterr().out.strip()
    # Step 2: the range: alice's team changes; then more history after it.
    store = open_log(location, Wharfinger, "events")
    try:
        since = now()
        store.add_member(team.id, ids[1], Role.VIEWER)
        store.change_member_role(team.id, ids[1], Role.CONTRIBUTOR)
        store.add_member(team.id, ids[2], Role.OWNER)
        until = now()
        store.remove_member(team.id, ids[2])
    finally:
        store.close()
    # Step 3: the export, proving growth since the kept checkpoint.
    out = tmp_path / "bundle"
    assert main(["audit", "export", "--since", since, "--until", until, "--out", str(out),
                 "--earlier-checkpoint", str(kept)], env) == 0
    assert "Wrote" in capsys.readouterr().out
    return out, key, kept, settings


def test_a_bundle_verifies_offline_and_proves_growth(
        exported: tuple[Path, str, Path, Settings], capsys: pytest.CaptureFixture[str]) -> None:
    out, key, kept, _ = exported
    # No store, no configuration: an empty environment.
    assert main(["audit", "verify-bundle", str(out), "--key", key, "--earlier-checkpoint",
                 str(kept)], {}) == 0
    text = capsys.readouterr().out
    assert "VALID: 3 event(s) of events" in text
    assert "ok: the log only grew: your checkpoint of size" in text
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    assert [e["in_range"] for e in events] == [False, True, True, True, False]
    assert [e["type"].rpartition(".")[2] for e in events if e["in_range"]] == [
        "MemberAdded", "MemberRoleChanged", "MemberAdded"]
    assert json.loads((out / "manifest.json").read_text())["events_in_range"] == 3


def test_every_changed_byte_and_every_truncation_is_refused(
        exported: tuple[Path, str, Path, Settings], tmp_path: Path) -> None:
    out, key, kept, _ = exported
    assert verify_bundle(out, key, kept.read_text()).ok
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    names = sorted(p.name for p in out.iterdir())
    accepted: list[str] = []
    for name in names:
        original = (out / name).read_bytes()
        # Every byte of the small files (the signed notes, the key); a spread of the others.
        step = 1 if len(original) <= 1024 else max(1, len(original) // 150)
        offsets = sorted({*range(0, len(original), step), len(original) - 1})
        for offset in offsets:
            (bad / name).write_bytes(original[:offset] + bytes([original[offset] ^ 0x01])
                                     + original[offset + 1:])
            report = verify_bundle(bad, key, kept.read_text())
            if report.ok:
                accepted.append(f"{name}[{offset}]")
            else:
                assert report.failure
        for length in (0, len(original) // 2, len(original) - 1):
            (bad / name).write_bytes(original[:length])
            if verify_bundle(bad, key, kept.read_text()).ok:
                accepted.append(f"{name} truncated to {length}")
        (bad / name).unlink()
        report = verify_bundle(bad, key)
        assert report.failure == f"{name}: missing from the bundle"
        (bad / name).write_bytes(original)
    assert verify_bundle(bad, key, kept.read_text()).ok  # restored byte for byte
    assert accepted == []


def _forge(out: Path, settings: Settings, edit: str) -> Path:
    """An insider with the signing key edits the events and re-signs the manifest: only the
    Merkle proofs stand in the way."""
    forged = out.parent / f"forged-{edit}"
    shutil.copytree(out, forged)
    lines = (forged / "events.jsonl").read_text().splitlines()
    proofs = (forged / "proofs.jsonl").read_text().splitlines()
    event = json.loads(lines[2])
    if edit == "data":  # the readable part alone
        event["data"]["role"] = "owner"
        lines[2] = json.dumps(event, sort_keys=True)
    elif edit == "state":  # the stored bytes, with the readable part made to match
        state = base64.b64decode(event["state"]).replace(b'"contributor"', b'"owner"')
        event["state"] = base64.b64encode(state).decode()
        event["data"] = json.loads(state)
        lines[2] = json.dumps(event, sort_keys=True)
    elif edit == "drop":  # leave an event out of the range
        del lines[2], proofs[2]
    (forged / "events.jsonl").write_text("".join(line + "\n" for line in lines))
    (forged / "proofs.jsonl").write_text("".join(line + "\n" for line in proofs))
    manifest = json.loads((forged / "manifest.json").read_text())
    if edit == "drop":
        manifest["events"] -= 1
        manifest["events_in_range"] -= 1
    import hashlib

    for name in manifest["files"]:
        manifest["files"][name] = hashlib.sha256((forged / name).read_bytes()).hexdigest()
    sign_manifest(forged, manifest, load_or_create_signer(settings.keys_dir, settings.issuer))
    return forged


@pytest.mark.parametrize(("edit", "failure"), [
    ("data", "events.jsonl line 3 (event"),
    ("state", "inclusion proof does not lead to the root hash"),
    ("drop", "leaves must run without a gap"),
])
def test_forged_histories_are_refused_even_when_re_signed(
        exported: tuple[Path, str, Path, Settings], edit: str, failure: str) -> None:
    out, key, _, settings = exported
    report = verify_bundle(_forge(out, settings, edit), key)
    assert not report.ok
    assert report.failure is not None and failure in report.failure


def test_wrong_key_forked_or_foreign_checkpoints_are_refused(
        exported: tuple[Path, str, Path, Settings], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    out, key, kept, settings = exported
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from eventstore.signed_note import Checkpoint, Signer, parse_checkpoint

    signer = load_or_create_signer(settings.keys_dir, settings.issuer)
    stranger = Signer(signer.name, Ed25519PrivateKey.generate())
    report = verify_bundle(out, stranger.verifier.encode())
    assert report.failure == ("key.txt: not the key you trust (--key); the bundle was signed by"
                              " someone else")
    # A checkpoint of the same size with another root: the log was rewritten (a fork).
    mine = parse_checkpoint(kept.read_text(), signer.verifier)
    fork = signer.sign(Checkpoint(mine.origin, mine.size, bytes(32)).text())
    report = verify_bundle(out, key, fork)
    assert report.failure is not None and report.failure.startswith(
        f"the log did not only grow since your checkpoint of size {mine.size}")
    # A checkpoint larger than the bundle's: the log shrank.
    bigger = signer.sign(Checkpoint(mine.origin, 10_000, bytes(32)).text())
    assert "the log shrank" in (verify_bundle(out, key, bigger).failure or "")
    # Not signed by the key.
    assert (verify_bundle(out, key, stranger.sign(Checkpoint(mine.origin, 1, bytes(32))
                                                  .text())).failure or "").startswith(
        "earlier checkpoint: the note carries no signature")
    # The CLI says INVALID with the reason and exits non-zero; bad paths are errors too.
    fork_file = tmp_path / "fork.txt"
    fork_file.write_text(fork)
    assert main(["audit", "verify-bundle", str(out), "--key", key, "--earlier-checkpoint",
                 str(fork_file)], {}) == 1
    assert "INVALID: the log did not only grow" in capsys.readouterr().out
    assert main(["audit", "verify-bundle", str(tmp_path / "nope")], {}) == 1
    assert "not a bundle directory" in capsys.readouterr().out
    env = cli_env(settings)
    assert main(["audit", "export", "--since", "2030-01-02", "--until", "2030-01-01",
                 "--out", str(tmp_path / "x")], env) == 1
    assert "--since" in capsys.readouterr().err
    assert main(["audit", "export", "--since", "1990-01-01", "--until", "1990-01-02",
                 "--out", str(tmp_path / "y")], env) == 1
    assert "no sealed event lies in that time range" in capsys.readouterr().err
    assert main(["audit", "export", "--since", "1990-01-01", "--out", str(out)], env) == 1
    assert "is not an empty directory" in capsys.readouterr().err
