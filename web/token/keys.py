"""The token-signing key and certificate the registry trusts (docker-token-auth.md §1.4, §3.2).

Tokens name the key twice: `kid`, the libtrust key id Distribution 2.8 looks up in its
`rootcertbundle`, and `x5c`, the certificate itself, which 2.8 and 3.x both check first.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey

KEY_FILE = "token-signing.key"
CERT_FILE = "token-signing.crt"


def libtrust_key_id(public_key: PublicKey) -> str:
    """SHA-256 of the DER SubjectPublicKeyInfo, first 240 bits, base32, 12 groups of 4."""
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(encoded[i:i + 4] for i in range(0, 48, 4))


@dataclass(frozen=True)
class SigningKey:
    private_key: PrivateKey = field(repr=False)
    certificate: x509.Certificate = field(repr=False)
    algorithm: str
    kid: str
    x5c: tuple[str, ...] = field(repr=False)
    certificate_path: Path


def load_or_create_signing_key(keys_dir: Path, *, algorithm: str = "ES256",
                               common_name: str = "wharfinger") -> SigningKey:
    """Load the key pair from `keys_dir`, generating it (0600) and its certificate on first use."""
    if algorithm not in ("ES256", "RS256"):
        raise ValueError(f"token.signing_algorithm must be ES256 or RS256, not {algorithm!r}")
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    key_path, cert_path = keys_dir / KEY_FILE, keys_dir / CERT_FILE
    if not key_path.exists():
        generated: PrivateKey = (ec.generate_private_key(ec.SECP256R1()) if algorithm == "ES256"
                                 else rsa.generate_private_key(65537, 2048))
        pem = generated.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())
        _write_exclusive(key_path, pem)  # another process may win the race: load its key
    loaded = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if algorithm == "ES256" and not (isinstance(loaded, ec.EllipticCurvePrivateKey)
                                     and isinstance(loaded.curve, ec.SECP256R1)):
        raise ValueError(f"{key_path} is not a P-256 key but token.signing_algorithm is ES256")
    if algorithm == "RS256" and not isinstance(loaded, rsa.RSAPrivateKey):
        raise ValueError(f"{key_path} is not an RSA key but token.signing_algorithm is RS256")
    assert isinstance(loaded, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
    if not cert_path.exists():
        _write_exclusive(cert_path, _self_signed(loaded, common_name).public_bytes(
            serialization.Encoding.PEM), mode=0o644)
    certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    if certificate.public_key() != loaded.public_key():
        raise ValueError(f"{cert_path} does not match {key_path}; remove the certificate to "
                         "have it regenerated")
    der = certificate.public_bytes(serialization.Encoding.DER)
    return SigningKey(loaded, certificate, algorithm, libtrust_key_id(loaded.public_key()),
                      (base64.b64encode(der).decode(),), cert_path)


def _self_signed(key: PrivateKey, common_name: str) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64] or "wharfinger")])
    now = datetime.datetime.now(datetime.UTC)
    return (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))


def _write_exclusive(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Create `path` with `mode` from the start (never chmod after writing); if another
    process created it first, keep theirs."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as f:
        f.write(data)
