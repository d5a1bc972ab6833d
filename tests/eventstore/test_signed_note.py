"""C2SP signed notes and checkpoints: round trips, the key id rule, and every tampering refused."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from eventstore.signed_note import (
    Checkpoint,
    NoteError,
    Signer,
    Verifier,
    open_note,
    parse_checkpoint,
)

SIGNER = Signer("example.test/wharfinger", Ed25519PrivateKey.from_private_bytes(bytes(32)))
ROOT = hashlib.sha256(b"root").digest()


def signed() -> str:
    return SIGNER.sign(Checkpoint("example.test/wharfinger/events", 42, ROOT).text())


def test_checkpoint_round_trip_and_format() -> None:
    note = signed()
    text, _, sig_line = note.partition("\n\n")
    assert text == f"example.test/wharfinger/events\n42\n{base64.b64encode(ROOT).decode()}"
    assert sig_line.startswith("\u2014 example.test/wharfinger ") and sig_line.endswith("\n")
    cp = parse_checkpoint(note, SIGNER.verifier)
    assert (cp.origin, cp.size, cp.root) == ("example.test/wharfinger/events", 42, ROOT)


def test_key_id_and_verifier_key_follow_the_spec() -> None:
    verifier = SIGNER.verifier
    expected = hashlib.sha256(b"example.test/wharfinger\n\x01" + verifier.public).digest()[:4]
    assert verifier.id == expected
    encoded = verifier.encode()
    assert encoded.startswith(f"example.test/wharfinger+{expected.hex()}+")
    assert Verifier.parse(encoded) == verifier
    for _ in range(64):  # base64 keys often hold "+", the field separator
        other = Signer("n", Ed25519PrivateKey.generate()).verifier
        assert Verifier.parse(other.encode()) == other
    raw = base64.b64decode(signed().rpartition(" ")[2])
    assert raw[:4] == expected and len(raw) == 68


@pytest.mark.parametrize("bad", [
    "no plus signs", "a+b", "name+00000000+AAAA",
    "example.test/wharfinger+deadbeef+" + base64.b64encode(b"\x01" + bytes(32)).decode(),
])
def test_bad_verifier_keys_are_refused(bad: str) -> None:
    with pytest.raises(NoteError):
        Verifier.parse(bad)


def test_tampered_notes_are_refused() -> None:
    note = signed()
    other = Signer("example.test/wharfinger", Ed25519PrivateKey.generate())
    cases = {
        "size changed": note.replace("\n42\n", "\n43\n"),
        "origin changed": note.replace("events", "eventz", 1),
        "root changed": note.replace(base64.b64encode(ROOT).decode(),
                                     base64.b64encode(hashlib.sha256(b"x").digest()).decode()),
        "signature byte changed": note[:-6] + ("A" if note[-6] != "A" else "B") + note[-5:],
        "no signature": note.partition("\n\n")[0] + "\n\n",
        "no blank line": note.replace("\n\n", "\n"),
        "truncated": note[:-10],
        "signed by another key of the same name": other.sign(
            Checkpoint("example.test/wharfinger/events", 42, ROOT).text()),
    }
    accepted = []
    for name, text in cases.items():
        try:
            parse_checkpoint(text, SIGNER.verifier)
        except NoteError:
            continue
        accepted.append(name)
    assert accepted == []


def test_malformed_checkpoint_bodies_are_refused() -> None:
    for body in ("origin\n", "origin\nx\nAAAA\n", "origin\n007\n" + base64.b64encode(ROOT).decode()
                 + "\n", "origin\n1\nAAAA\n"):
        with pytest.raises(NoteError):
            parse_checkpoint(SIGNER.sign(body), SIGNER.verifier)
    assert open_note(SIGNER.sign("hello\n"), SIGNER.verifier) == "hello\n"
