"""Signed tokens: what the registry checks in the header, the signature and the claims."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from types import MappingProxyType

import jwt
import pytest
from cryptography import x509
from hypothesis import given
from hypothesis import strategies as st

from web.token.jwt import ClaimsTemplate, JwtSigner, sign_jwt, signer_for
from web.token.keys import SigningKey, libtrust_key_id, load_or_create_signing_key

CLAIMS: dict[str, object] = {
    "iss": "wharfinger.test", "sub": "alice", "aud": "harness-registry",
    "exp": 4102444800, "nbf": 4102444500, "iat": 4102444500, "jti": "tYJCO1c6cnyy7kAn0c7r",
    "access": [{"type": "repository", "name": "alice/demo", "actions": ["pull", "push"]}],
}


@pytest.fixture(scope="module", params=["ES256", "RS256"])
def key(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> SigningKey:
    return load_or_create_signing_key(tmp_path_factory.mktemp("keys"), algorithm=request.param)


def _segment(token: str, index: int) -> bytes:
    part = token.split(".")[index]
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _verify(key: SigningKey, token: str) -> dict[str, object]:
    # As the registry would: with the public key of the certificate in the header.
    certificate = x509.load_der_x509_certificate(
        base64.b64decode(jwt.get_unverified_header(token)["x5c"][0]))
    claims: dict[str, object] = jwt.decode(
        token, certificate.public_key(), algorithms=[key.algorithm],  # type: ignore[arg-type]
        audience="harness-registry", issuer="wharfinger.test",
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False})
    return claims


def test_a_signed_token_verifies_with_the_certificate(key: SigningKey) -> None:
    token = sign_jwt(key, CLAIMS)
    assert _verify(key, token) == CLAIMS


def test_the_header_names_the_key_by_kid_and_x5c(key: SigningKey) -> None:
    header = json.loads(_segment(sign_jwt(key, CLAIMS), 0))
    assert header == {"typ": "JWT", "alg": key.algorithm, "kid": key.kid, "x5c": list(key.x5c)}
    certificate = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    assert certificate == key.certificate
    # Distribution 2.8 looks the kid up among the libtrust ids of its bundle (§1.4).
    assert header["kid"] == libtrust_key_id(certificate.public_key())  # type: ignore[arg-type]


def test_segments_are_unpadded_base64url_and_the_payload_compact(key: SigningKey) -> None:
    token = sign_jwt(key, CLAIMS)
    # Padding makes the registry reject the token (§3.2).
    assert "=" not in token and "+" not in token and "/" not in token
    payload = _segment(token, 1)
    assert json.loads(payload) == CLAIMS and b" " not in payload.replace(b"alice/demo", b"")


def test_es256_signatures_are_raw_r_and_s(tmp_path: Path) -> None:
    key = load_or_create_signing_key(tmp_path, algorithm="ES256")
    # Raw r||s is 64 bytes; the DER form (70-72 bytes) is refused by the registry (§0.3).
    for _ in range(20):
        assert len(_segment(sign_jwt(key, CLAIMS), 2)) == 64


def test_rs256_signatures_are_pkcs1_v15(tmp_path: Path) -> None:
    key = load_or_create_signing_key(tmp_path, algorithm="RS256")
    token = sign_jwt(key, CLAIMS)
    assert len(_segment(token, 2)) == 256
    # PKCS#1 v1.5 is deterministic: the same input signs to the same bytes (PSS would not).
    assert sign_jwt(key, CLAIMS) == token


def test_any_mapping_of_claims_is_accepted(key: SigningKey) -> None:
    assert _verify(key, sign_jwt(key, MappingProxyType(CLAIMS))) == CLAIMS


@pytest.mark.parametrize(("change", "message"), [
    ({"exp": None}, "needs an exp"),
    ({"exp": 4102444800.5}, "exp claim must be an integer"),
    ({"exp": "4102444800"}, "exp claim must be an integer"),
    ({"exp": True}, "exp claim must be an integer"),
    ({"nbf": 1.0}, "nbf claim must be an integer"),
    ({"iat": "now"}, "iat claim must be an integer"),
    ({"aud": ["harness-registry"]}, "aud claim must be one string"),
])
def test_claims_the_registry_would_refuse_are_refused_here(
        key: SigningKey, change: dict[str, object], message: str) -> None:
    claims = {**CLAIMS, **change}
    claims = {k: v for k, v in claims.items() if v is not None}
    with pytest.raises(ValueError, match=message):
        sign_jwt(key, claims)


def test_each_key_gets_its_own_signer(tmp_path: Path) -> None:
    first = load_or_create_signing_key(tmp_path / "a")
    second = load_or_create_signing_key(tmp_path / "b")
    assert signer_for(first) is signer_for(first)
    assert signer_for(first) is not signer_for(second)
    assert jwt.get_unverified_header(sign_jwt(second, CLAIMS))["kid"] == second.kid
    assert jwt.get_unverified_header(JwtSigner(first).sign(CLAIMS))["kid"] == first.kid


@given(sub=st.text(), name=st.text(min_size=1), exp=st.integers(0, 2**63 - 1))
def test_any_subject_and_name_survive_signing(key: SigningKey, sub: str, name: str,
                                              exp: int) -> None:
    claims = {**CLAIMS, "sub": sub, "exp": exp,
              "access": [{"type": "repository", "name": name, "actions": ["pull"]}]}
    assert _verify(key, sign_jwt(key, claims)) == claims


@given(sub=st.text(max_size=20), name=st.text(max_size=20), jti=st.text(max_size=40),
       times=st.tuples(*[st.integers(0, 2**62)] * 3))
def test_a_claims_template_encodes_what_the_claims_dict_would(
        sub: str, name: str, jti: str, times: tuple[int, int, int]) -> None:
    access = [{"type": "repository", "name": name, "actions": ["pull"]}]
    template = ClaimsTemplate(iss="wharfinger.test", sub=sub, aud="harness-registry",
                              access=access)
    exp, nbf, iat = times
    claims = {"iss": "wharfinger.test", "sub": sub, "aud": "harness-registry", "exp": exp,
              "nbf": nbf, "iat": iat, "jti": jti, "access": access}
    encoded = template.claims(exp=exp, nbf=nbf, iat=iat, jti=jti)
    assert encoded.json == json.dumps(claims, separators=(",", ":")).encode()


def test_a_token_from_a_claims_template_is_the_same_token(key: SigningKey) -> None:
    template = ClaimsTemplate(iss=str(CLAIMS["iss"]), sub=str(CLAIMS["sub"]),
                              aud=str(CLAIMS["aud"]), access=CLAIMS["access"])
    encoded = template.claims(exp=4102444800, nbf=4102444500, iat=4102444500,
                              jti=str(CLAIMS["jti"]))
    token = sign_jwt(key, encoded)
    assert _verify(key, token) == CLAIMS
    assert token.split(".")[:2] == sign_jwt(key, CLAIMS).split(".")[:2]


def test_a_claims_template_refuses_what_the_registry_would() -> None:
    with pytest.raises(ValueError, match="aud"):
        ClaimsTemplate(iss="i", sub="s", aud=["a", "b"], access=[])  # type: ignore[arg-type]
    template = ClaimsTemplate(iss="i", sub="s", aud="a", access=[])
    for bad in ({"exp": 1.5, "nbf": 1, "iat": 1}, {"exp": 1, "nbf": True, "iat": 1},
                {"exp": 1, "nbf": 1, "iat": "1"}):
        with pytest.raises(ValueError, match="must be an integer"):
            template.claims(jti="j", **bad)  # type: ignore[arg-type]
