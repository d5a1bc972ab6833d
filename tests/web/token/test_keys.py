"""The signing key: libtrust key ids, files created private, tokens the registry can verify."""

from __future__ import annotations

import base64
from pathlib import Path

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from web.secret_files import load_or_create_secret
from web.token.jwt import sign_jwt
from web.token.keys import libtrust_key_id, load_or_create_signing_key

# The sample key of Distribution's docs/spec/auth/jwt.md, whose key id the spec gives.
SPEC_X = "m7zUpx3b-zmVE5cymSs64POG9QcyEpJaYCD82-549_Q"
SPEC_Y = "dU3biz8sZ_8GPB-odm8Wxz3lNDr1xcAQQPQaOcr1fmc"
SPEC_KID = "PYYO:TEWU:V7JH:26JV:AQTZ:LJC3:SXVJ:XGHA:34F2:2LAQ:ZRMK:Z7Q6"


def _b64int(text: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")


def test_libtrust_key_id_matches_the_spec_example() -> None:
    public = ec.EllipticCurvePublicNumbers(_b64int(SPEC_X), _b64int(SPEC_Y),
                                           ec.SECP256R1()).public_key()
    assert libtrust_key_id(public) == SPEC_KID


@pytest.mark.parametrize("algorithm", ["ES256", "RS256"])
def test_key_files_are_private_and_stable(tmp_path: Path, algorithm: str) -> None:
    keys = tmp_path / "keys"
    first = load_or_create_signing_key(keys, algorithm=algorithm, common_name="wharfinger.test")
    assert (keys / "token-signing.key").stat().st_mode & 0o777 == 0o600
    assert keys.stat().st_mode & 0o777 == 0o700
    again = load_or_create_signing_key(keys, algorithm=algorithm)
    assert again.kid == first.kid and again.x5c == first.x5c
    assert "PRIVATE" not in repr(first) and "private_key" not in repr(first)


def test_algorithm_mismatch_is_a_clear_error(tmp_path: Path) -> None:
    load_or_create_signing_key(tmp_path, algorithm="ES256")
    with pytest.raises(ValueError, match="token-signing.key is not an RSA key"):
        load_or_create_signing_key(tmp_path, algorithm="RS256")


def test_missing_certificate_is_regenerated_from_the_key(tmp_path: Path) -> None:
    first = load_or_create_signing_key(tmp_path)
    (tmp_path / "token-signing.crt").unlink()
    assert load_or_create_signing_key(tmp_path).kid == first.kid


@pytest.mark.parametrize("algorithm", ["ES256", "RS256"])
def test_signed_tokens_verify_with_the_certificate(tmp_path: Path, algorithm: str) -> None:
    key = load_or_create_signing_key(tmp_path, algorithm=algorithm)
    token = sign_jwt(key, {"iss": "i", "aud": "a", "exp": 4102444800, "access": []})
    header = jwt.get_unverified_header(token)
    assert header["kid"] == key.kid and header["alg"] == algorithm
    cert = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    assert cert == key.certificate
    claims = jwt.decode(token, cert.public_key(), algorithms=[algorithm],  # type: ignore[arg-type]
                        audience="a")
    assert claims["iss"] == "i"
    if algorithm == "ES256":  # raw r||s, not DER (docker-token-auth.md §0.3)
        signature = token.rsplit(".", 1)[1]
        assert len(base64.urlsafe_b64decode(signature + "==")) == 64


def test_secrets_are_created_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "x.secret"
    value = load_or_create_secret(path)
    assert len(value) >= 40 and load_or_create_secret(path) == value
    assert path.stat().st_mode & 0o777 == 0o600
