"""The token-signing key and certificate the registry trusts (docker-token-auth.md §1.4, §3.2).

Tokens name the key twice: `kid`, the libtrust key id Distribution 2.8 looks up among the keys of
its `rootcertbundle`, and `x5c`, the certificate itself, which 2.8 and 3.x both check first and
which 3.x needs as it indexes the bundle by RFC 7638 thumbprint, not libtrust id (read, untested).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from web.secret_files import create_once

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey

ALGORITHMS = ("ES256", "RS256")
KEY_FILE = "token-signing.key"
CERT_FILE = "token-signing.crt"
CERTIFICATE_LIFETIME = datetime.timedelta(days=3650)


def libtrust_key_id(public_key: PublicKey) -> str:
    """The libtrust key id (jwt.md "kid"): SHA-256 of the DER SubjectPublicKeyInfo, first
    240 bits, base32 without padding, 12 groups of 4 joined by ':'."""
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode("ascii")
    return ":".join(encoded[i:i + 4] for i in range(0, 48, 4))


@dataclass(frozen=True)
class SigningKey:
    """The private key and everything a token header says about it.

    `x5c` is a tuple, not a list, so a shared key cannot be altered in place; it serialises
    to the JSON array the header needs.
    """

    private_key: PrivateKey = field(repr=False)
    certificate: x509.Certificate = field(repr=False)
    algorithm: str
    kid: str
    x5c: tuple[str, ...] = field(repr=False)
    certificate_path: Path


def load_or_create_signing_key(keys_dir: Path, *, algorithm: str = "ES256",
                               common_name: str = "wharfinger") -> SigningKey:
    """Load the key pair from `keys_dir`, generating the key (0600) and its self-signed
    certificate on first use, and the certificate alone if only it is missing."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"token.signing_algorithm must be ES256 or RS256, not {algorithm!r}")
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    key_path, cert_path = keys_dir / KEY_FILE, keys_dir / CERT_FILE
    if not key_path.exists():  # spares generating an RSA key just to lose the race below
        # If another process creates the file first, create_once keeps theirs and we load it.
        create_once(key_path, _generate(algorithm).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
    private_key = _load_private_key(key_path, algorithm)
    if not cert_path.exists():
        # Public, and the registry (often another user) must read it: 0644, not 0600.
        create_once(cert_path, _self_signed(private_key, common_name).public_bytes(
            serialization.Encoding.PEM), mode=0o644)
    certificate = _load_certificate(cert_path, key_path, private_key)
    der = certificate.public_bytes(serialization.Encoding.DER)
    kid = libtrust_key_id(private_key.public_key())
    return SigningKey(private_key, certificate, algorithm, kid,
                      (base64.b64encode(der).decode("ascii"),), cert_path)


def _generate(algorithm: str) -> PrivateKey:
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _load_private_key(key_path: Path, algorithm: str) -> PrivateKey:
    try:
        loaded = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (ValueError, TypeError) as e:  # TypeError: the key is encrypted
        raise ValueError(f"{key_path} is not an unencrypted PEM private key: {e}") from e
    # The registry insists the alg match the key: P-256 signs ES256 only (§3.2).
    if algorithm == "ES256":
        if isinstance(loaded, ec.EllipticCurvePrivateKey) and isinstance(loaded.curve,
                                                                         ec.SECP256R1):
            return loaded
        raise ValueError(f"{key_path} is not a P-256 key but token.signing_algorithm is ES256; "
                         "set RS256 or move the file away to have a P-256 key generated")
    if isinstance(loaded, rsa.RSAPrivateKey):
        return loaded
    raise ValueError(f"{key_path} is not an RSA key but token.signing_algorithm is RS256; "
                     "set ES256 or move the file away to have an RSA key generated")


def _load_certificate(cert_path: Path, key_path: Path, key: PrivateKey) -> x509.Certificate:
    try:
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except ValueError as e:
        raise ValueError(f"{cert_path} is not a PEM certificate: {e}") from e
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if certificate.public_key().public_bytes(*spki) != key.public_key().public_bytes(*spki):
        raise ValueError(f"{cert_path} does not match {key_path}; remove the certificate to "
                         "have it regenerated, then give the registry the new one")
    # Distribution checks x5c chains for expiry and x5c takes precedence over kid, so an
    # expired certificate gets every token rejected (§3.2): better to refuse to start.
    if certificate.not_valid_after_utc <= datetime.datetime.now(datetime.UTC):
        raise ValueError(f"{cert_path} expired on {certificate.not_valid_after_utc:%Y-%m-%d}; "
                         "remove it to have a new one issued, then give the registry the new one")
    return certificate


def _self_signed(key: PrivateKey, common_name: str) -> x509.Certificate:
    # A plain non-CA self-signed certificate is accepted in the rootcertbundle (§3.2).
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64] or "wharfinger")])
    now = datetime.datetime.now(datetime.UTC)
    return (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            # Backdated so a registry whose clock runs a little behind accepts it at once.
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + CERTIFICATE_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
