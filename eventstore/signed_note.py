"""C2SP signed notes and tlog checkpoints with Ed25519 (c2sp.org/signed-note, tlog-checkpoint).

A checkpoint note's text is `<origin>\\n<tree size>\\n<base64 root hash>\\n`; the signed note is the
text, a blank line, and one line per signature: `— <key name> <base64(key id ‖ signature)>\\n`.
The key id is the first four bytes of SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ public key), 0x01 being the
Ed25519 signature type; a verifier key is written `<name>+<hex key id>+<base64(0x01 ‖ key)>`.
The Ed25519 signature covers the note text exactly, final newline included.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = b"\x01"
DASH = "\u2014"


class NoteError(ValueError):
    """A note, checkpoint or key that is malformed or whose signature does not verify."""


def _b64decode(text: str, what: str) -> bytes:
    """Strict base64: only the canonical encoding of the bytes (padding bits zero), so no two
    texts of a note carry the same bytes."""
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise NoteError(f"{what} is not base64") from None
    if base64.b64encode(raw).decode() != text:
        raise NoteError(f"{what} is not canonical base64")
    return raw


def _check_name(name: str) -> None:
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise NoteError(f"key name {name!r} must be non-empty, without spaces or '+'")


def key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public).digest()[:4]


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class Verifier:
    name: str
    public: bytes

    @property
    def id(self) -> bytes:
        return key_id(self.name, self.public)

    def encode(self) -> str:
        return (f"{self.name}+{self.id.hex()}+"
                f"{base64.b64encode(ED25519 + self.public).decode()}")

    @classmethod
    def parse(cls, text: str) -> Verifier:
        parts = text.strip().split("+", 2)  # base64 may hold "+" too
        if len(parts) != 3:
            raise NoteError("a verifier key is <name>+<key id>+<base64 key>")
        name, hex_id, b64 = parts
        _check_name(name)
        raw = _b64decode(b64, "the verifier key's key")
        if len(raw) != 33 or raw[:1] != ED25519:
            raise NoteError("the verifier key is not an Ed25519 key")
        verifier = cls(name, raw[1:])
        if verifier.id.hex() != hex_id.lower():
            raise NoteError("the verifier key's id does not match its name and key")
        return verifier

    def verify(self, text: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, text)
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True)
class Signer:
    name: str
    key: Ed25519PrivateKey

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, raw_public(self.key.public_key()))

    def sign(self, text: str) -> str:
        """The signed note: `text` (ending in a newline), a blank line, our signature line."""
        _check_text(text)
        _check_name(self.name)
        sig = self.key.sign(text.encode())
        line = base64.b64encode(self.verifier.id + sig).decode()
        return f"{text}\n{DASH} {self.name} {line}\n"


def _check_text(text: str) -> None:
    if not text.endswith("\n") or "\n\n" in text:
        raise NoteError("a note's text ends with one newline and has no blank line")


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode(),
                 *self.extensions]
        return "\n".join(lines) + "\n"


def open_note(note: str, verifier: Verifier) -> str:
    """The text of a signed note, if `verifier` signed it; NoteError otherwise."""
    text, sep, signatures = note.rpartition("\n\n")
    if not sep:
        raise NoteError("not a signed note: no blank line before the signatures")
    text += "\n"
    _check_text(text)
    if not signatures.endswith("\n"):
        raise NoteError("the signature lines must end with a newline")
    for line in signatures[:-1].split("\n"):
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH:
            raise NoteError(f"malformed signature line: {line!r}")
        raw = _b64decode(parts[2], "a signature")
        if parts[1] != verifier.name or raw[:4] != verifier.id:
            continue  # someone else's signature (a witness, say): not ours to check
        if len(raw) != 68 or not verifier.verify(text.encode(), raw[4:]):
            raise NoteError(f"the signature of {verifier.name} does not verify")
        return text
    raise NoteError(f"the note carries no signature by {verifier.name}")


def parse_checkpoint(note: str, verifier: Verifier) -> Checkpoint:
    """A checkpoint, after its signature by `verifier` has been checked."""
    lines = open_note(note, verifier).split("\n")[:-1]
    if len(lines) < 3:
        raise NoteError("a checkpoint has an origin, a tree size and a root hash")
    origin, size_text, root_text, *extensions = lines
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise NoteError(f"the checkpoint's tree size {size_text!r} is not a decimal number")
    root = _b64decode(root_text, "the checkpoint's root hash")
    if len(root) != 32:
        raise NoteError("the checkpoint's root hash is not 32 bytes")
    return Checkpoint(origin, int(size_text), root, tuple(extensions))
