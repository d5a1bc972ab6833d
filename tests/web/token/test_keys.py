"""The signing key: libtrust key ids, key files created private and once, clear errors."""

from __future__ import annotations

import base64
import datetime
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from web.token.keys import (
    CERT_FILE,
    KEY_FILE,
    SigningKey,
    libtrust_key_id,
    load_or_create_signing_key,
)

# The sample server key of Distribution's docs/spec/auth/jwt.md ("This example signature will
# use the following ECDSA key for the server"), with the key id the spec gives for it.
SPEC_JWK = {
    "kty": "EC",
    "crv": "P-256",
    "kid": "PYYO:TEWU:V7JH:26JV:AQTZ:LJC3:SXVJ:XGHA:34F2:2LAQ:ZRMK:Z7Q6",
    "d": "R7OnbfMaD5J2jl7GeE8ESo7CnHSBm_1N2k9IXYFrKJA",
    "x": "m7zUpx3b-zmVE5cymSs64POG9QcyEpJaYCD82-549_Q",
    "y": "dU3biz8sZ_8GPB-odm8Wxz3lNDr1xcAQQPQaOcr1fmc",
}


def _b64int(text: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")


def test_libtrust_key_id_matches_the_spec_example() -> None:
    public = ec.EllipticCurvePublicNumbers(_b64int(SPEC_JWK["x"]), _b64int(SPEC_JWK["y"]),
                                           ec.SECP256R1()).public_key()
    assert libtrust_key_id(public) == SPEC_JWK["kid"]
    # The JWK is self-consistent, so the vector above was copied correctly.
    private = ec.derive_private_key(_b64int(SPEC_JWK["d"]), ec.SECP256R1())
    assert libtrust_key_id(private.public_key()) == SPEC_JWK["kid"]


@pytest.mark.parametrize("algorithm", ["ES256", "RS256"])
def test_key_ids_have_the_libtrust_shape(tmp_path: Path, algorithm: str) -> None:
    kid = load_or_create_signing_key(tmp_path, algorithm=algorithm).kid
    groups = kid.split(":")
    assert len(groups) == 12 and all(len(g) == 4 for g in groups)
    assert set(kid) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567:")


@pytest.mark.parametrize("algorithm", ["ES256", "RS256"])
def test_key_files_are_private_and_stable(tmp_path: Path, algorithm: str) -> None:
    keys = tmp_path / "data" / "keys"
    # Step 1: the first start generates the key, its certificate and the directory.
    first = load_or_create_signing_key(keys, algorithm=algorithm, common_name="wharfinger.test")
    assert keys.stat().st_mode & 0o777 == 0o700
    assert (keys / KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert first.certificate_path == keys / CERT_FILE
    assert first.algorithm == algorithm
    assert first.kid == libtrust_key_id(first.certificate.public_key())  # type: ignore[arg-type]
    assert base64.b64decode(first.x5c[0]) == first.certificate.public_bytes(
        serialization.Encoding.DER)
    cn = first.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cn == "wharfinger.test"
    assert first.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert not first.certificate.extensions.get_extension_for_class(
        x509.BasicConstraints).value.ca
    lifetime = first.certificate.not_valid_after_utc - first.certificate.not_valid_before_utc
    assert lifetime > datetime.timedelta(days=9 * 365)
    # Step 2: later starts load the same files.
    again = load_or_create_signing_key(keys, algorithm=algorithm)
    assert (again.kid, again.x5c, again.certificate) == (first.kid, first.x5c, first.certificate)


def test_repr_shows_no_key_material(tmp_path: Path) -> None:
    key = load_or_create_signing_key(tmp_path)
    pem = (tmp_path / KEY_FILE).read_text()
    secret_body = "".join(pem.splitlines()[1:-1])
    assert isinstance(key.private_key, ec.EllipticCurvePrivateKey)
    private_value = key.private_key.private_numbers().private_value
    text = repr(key)
    assert key.kid in text and "ES256" in text
    for leak in (secret_body[:16], str(private_value), hex(private_value)[2:], "private_key",
                 key.x5c[0][:16]):
        assert leak not in text


def test_algorithm_mismatch_is_a_clear_error(tmp_path: Path) -> None:
    load_or_create_signing_key(tmp_path / "ec", algorithm="ES256")
    with pytest.raises(ValueError, match=r"token-signing\.key is not an RSA key"):
        load_or_create_signing_key(tmp_path / "ec", algorithm="RS256")
    load_or_create_signing_key(tmp_path / "rsa", algorithm="RS256")
    with pytest.raises(ValueError, match=r"token-signing\.key is not a P-256 key"):
        load_or_create_signing_key(tmp_path / "rsa", algorithm="ES256")


def test_a_p384_key_is_refused_for_es256(tmp_path: Path) -> None:
    # The registry only accepts ES256 from P-256 (docker-token-auth.md §3.2).
    (tmp_path / KEY_FILE).write_bytes(ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    with pytest.raises(ValueError, match="not a P-256 key"):
        load_or_create_signing_key(tmp_path, algorithm="ES256")


def test_unknown_algorithm_and_unreadable_key_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ES256 or RS256"):
        load_or_create_signing_key(tmp_path, algorithm="PS256")
    (tmp_path / KEY_FILE).write_text("not a key\n")
    with pytest.raises(ValueError, match=r"token-signing\.key is not an unencrypted PEM"):
        load_or_create_signing_key(tmp_path)


def test_missing_certificate_is_regenerated_from_the_key(tmp_path: Path) -> None:
    first = load_or_create_signing_key(tmp_path)
    (tmp_path / CERT_FILE).unlink()
    again = load_or_create_signing_key(tmp_path)
    assert again.kid == first.kid
    assert again.certificate.public_key() == first.certificate.public_key()
    assert again.certificate != first.certificate  # a new serial number and validity


def test_a_certificate_of_another_key_is_refused(tmp_path: Path) -> None:
    load_or_create_signing_key(tmp_path / "a")
    load_or_create_signing_key(tmp_path / "b")
    (tmp_path / "a" / CERT_FILE).write_bytes((tmp_path / "b" / CERT_FILE).read_bytes())
    with pytest.raises(ValueError, match=r"token-signing\.crt does not match"):
        load_or_create_signing_key(tmp_path / "a")


def test_an_expired_certificate_is_refused(tmp_path: Path) -> None:
    # With x5c in the header an expired certificate gets every token rejected (§3.2).
    key = load_or_create_signing_key(tmp_path).private_key
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "old")])
    now = datetime.datetime.now(datetime.UTC)
    expired = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
               .public_key(key.public_key()).serial_number(1)
               .not_valid_before(now - datetime.timedelta(days=30))
               .not_valid_after(now - datetime.timedelta(days=1))
               .sign(key, hashes.SHA256()))
    (tmp_path / CERT_FILE).write_bytes(expired.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(ValueError, match=r"token-signing\.crt expired"):
        load_or_create_signing_key(tmp_path)


def test_threads_starting_at_once_share_one_key(tmp_path: Path) -> None:
    barrier = threading.Barrier(8)

    def start() -> SigningKey:
        barrier.wait()
        return load_or_create_signing_key(tmp_path / "keys", algorithm="RS256")

    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _: start(), range(8)))
    assert len({k.kid for k in keys}) == 1 and len({k.x5c for k in keys}) == 1
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == [CERT_FILE, KEY_FILE]


def test_processes_starting_at_once_share_one_key(tmp_path: Path) -> None:
    go = tmp_path / "go"
    script = (
        "import pathlib, sys, time\n"
        "from web.token.keys import load_or_create_signing_key\n"
        "while not pathlib.Path(sys.argv[2]).exists(): time.sleep(0.001)\n"
        "print(load_or_create_signing_key(pathlib.Path(sys.argv[1]), algorithm='RS256').kid)\n"
    )
    root = Path(__file__).resolve().parents[3]
    processes = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "keys"), str(go)],
                                  cwd=root, stdout=subprocess.PIPE, text=True)
                 for _ in range(4)]
    go.touch()  # all four are importing or waiting; let them race
    kids = {p.communicate(timeout=60)[0].strip() for p in processes}
    assert all(p.returncode == 0 for p in processes)
    assert len(kids) == 1
    assert kids == {load_or_create_signing_key(tmp_path / "keys", algorithm="RS256").kid}


def test_an_rsa_key_is_2048_bits(tmp_path: Path) -> None:
    key = load_or_create_signing_key(tmp_path, algorithm="RS256").private_key
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
