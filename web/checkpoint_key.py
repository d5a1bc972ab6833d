"""The Ed25519 key that signs audit checkpoints: one file in the data directory, mode 0600.

The key name (and so the verifier key auditors keep) is `<machine_fqdn>/wharfinger`; each log's
checkpoint origin is that name followed by `/<log>` (c2sp.org/tlog-checkpoint: the origin names
the log uniquely).
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from eventstore.signed_note import Signer
from web.secret_files import create_once, load_or_create_secret

KEY_FILE = "audit-checkpoint.ed25519"


def key_name(issuer: str) -> str:
    return f"{issuer}/wharfinger"


def origin(issuer: str, log: str) -> str:
    return f"{key_name(issuer)}/{log}"


def fold_checkpoint_key(keys_dir: Path) -> bytes:
    """The MAC key of the fold checkpoints (projections.checkpoints), 0600 like the others."""
    return load_or_create_secret(keys_dir / "fold-checkpoint.secret").encode()


def load_or_create_signer(keys_dir: Path, issuer: str) -> Signer:
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = keys_dir / KEY_FILE
    if not path.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())
        create_once(path, pem)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return Signer(key_name(issuer), key)
