"""Signing the registry's bearer tokens: compact JWS with `kid` and `x5c` (RFC 7515, 7519; §1.4)."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from json.encoder import encode_basestring_ascii

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from web.token.keys import SigningKey

_COMPACT = (",", ":")
_ES_HASHES: dict[str, hashes.HashAlgorithm] = {
    "ES256": hashes.SHA256(), "ES384": hashes.SHA384(), "ES512": hashes.SHA512()}


class JwtSigner:
    """Signs tokens with one key. The header is the same for every token, so it is encoded
    once; per token only the claims are serialised and signed.

    ECDSA signs straight through `cryptography` with a prepared `ECDSA(SHA-256)` and turns the
    DER signature into raw r||s, the 64 bytes the registry requires (§0.3; RFC 7518 §3.4): what
    pyjwt's ES256 does, without rebuilding its objects on every token (2-3% of a token request).
    Other algorithms (RS256) sign through pyjwt."""

    __slots__ = ("_algorithm", "_ec_key", "_ecdsa", "_header", "_private_key", "_size")

    def __init__(self, key: SigningKey) -> None:
        self._algorithm = jwt.get_algorithm_by_name(key.algorithm)
        self._private_key = key.private_key
        self._ec_key: ec.EllipticCurvePrivateKey | None = None
        self._ecdsa = ec.ECDSA(_ES_HASHES.get(key.algorithm, hashes.SHA256()))
        self._size = 0
        if key.algorithm in _ES_HASHES and isinstance(key.private_key, ec.EllipticCurvePrivateKey):
            self._ec_key = key.private_key
            self._size = (key.private_key.curve.key_size + 7) // 8
        header = {"typ": "JWT", "alg": key.algorithm, "kid": key.kid, "x5c": list(key.x5c)}
        self._header = _b64url(json.dumps(header, separators=_COMPACT).encode())

    def sign(self, claims: Mapping[str, object] | EncodedClaims) -> str:
        if isinstance(claims, EncodedClaims):
            payload = _b64url(claims.json)  # checked by its ClaimsTemplate
        else:
            _check_claims(claims)
            body = claims if isinstance(claims, dict) else dict(claims)
            payload = _b64url(json.dumps(body, separators=_COMPACT, allow_nan=False).encode())
        signing_input = f"{self._header}.{payload}"
        return f"{signing_input}.{_b64url(self._signature(signing_input.encode('ascii')))}"

    def _signature(self, data: bytes) -> bytes:
        if self._ec_key is None:
            return bytes(self._algorithm.sign(data, self._private_key))
        r, s = decode_dss_signature(self._ec_key.sign(data, self._ecdsa))
        return r.to_bytes(self._size, "big") + s.to_bytes(self._size, "big")


# Keyed by identity: hashing the frozen SigningKey hashes its certificate, several microseconds
# per token on the hot path. The entry holds the key, so its id cannot be reused meanwhile.
_signers: dict[int, tuple[SigningKey, JwtSigner]] = {}


def signer_for(key: SigningKey) -> JwtSigner:
    """The signer of `key`, built on first use (a process normally has exactly one key)."""
    entry = _signers.get(id(key))
    if entry is None or entry[0] is not key:
        if len(_signers) >= 4:  # keys replaced over and over: forget the old ones
            _signers.clear()
        entry = _signers[id(key)] = (key, JwtSigner(key))
    return entry[1]


class EncodedClaims:
    """A token's claims as JSON bytes, made by a ClaimsTemplate (which checked them)."""

    __slots__ = ("json",)

    def __init__(self, encoded: bytes) -> None:
        self.json = encoded


class ClaimsTemplate:
    """The claims of registry tokens that share issuer, subject, audience and access (one
    memoized decision, web.token.memo): that JSON is encoded once, and each token adds only its
    times and id. The text is what `json.dumps` makes of the claims in the same order
    (iss, sub, aud, exp, nbf, iat, jti, access), so a template changes no token's bytes."""

    __slots__ = ("_head", "_tail")

    def __init__(self, *, iss: str, sub: str, aud: str, access: object) -> None:
        _check_claims({"aud": aud, "exp": 0})
        head = json.dumps({"iss": iss, "sub": sub, "aud": aud}, separators=_COMPACT,
                          allow_nan=False)
        self._head = head[:-1] + ',"exp":'
        self._tail = f',"access":{json.dumps(access, separators=_COMPACT, allow_nan=False)}}}'

    def claims(self, *, exp: int, nbf: int, iat: int, jti: str) -> EncodedClaims:
        for name, value in (("exp", exp), ("nbf", nbf), ("iat", iat)):
            if type(value) is not int:
                raise ValueError(f"the {name} claim must be an integer, not {value!r}")
        return EncodedClaims(f'{self._head}{exp},"nbf":{nbf},"iat":{iat},"jti":'
                             f'{encode_basestring_ascii(jti)}{self._tail}'.encode())


def sign_jwt(key: SigningKey, claims: Mapping[str, object] | EncodedClaims) -> str:
    """The compact JWS of `claims`, with header `{typ, alg, kid, x5c}`."""
    return signer_for(key).sign(claims)


def _check_claims(claims: Mapping[str, object]) -> None:
    # Distribution unmarshals these into int64 and `aud` into a string, and rejects the whole
    # token otherwise (§3.2): fail here, where the bug is, rather than at the registry.
    if "exp" not in claims:
        raise ValueError("a registry token needs an exp claim")
    for name in ("exp", "nbf", "iat"):
        if name in claims and type(claims[name]) is not int:
            raise ValueError(f"the {name} claim must be an integer, not {claims[name]!r}")
    if "aud" in claims and not isinstance(claims["aud"], str):
        raise ValueError(f"the aud claim must be one string, not {claims['aud']!r}")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
