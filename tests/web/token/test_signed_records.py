"""The token endpoint's group-commit write (web.token.signed_records): the batch's records are
stored, then each granted token is signed in the writer's thread, in order; a refusal has no
token, and a token that cannot be signed fails alone (both backends)."""

from __future__ import annotations

from pathlib import Path

import jwt

from domain.audit_trail import AuditTrail
from domain.decisions import TokenRequestDecided, example
from eventstore.fact_rows import FactRows
from eventstore.reader import read_after
from web.token.keys import load_or_create_signing_key
from web.token.signed_records import record_and_sign


def test_records_then_tokens_in_order(audit: AuditTrail, tmp_path: Path) -> None:
    key = load_or_create_signing_key(tmp_path / "keys")
    rows = FactRows(audit, TokenRequestDecided, example())
    sample = example()
    values = {name: getattr(sample, name) for name in rows._names if name != "timestamp"}
    claims = [{"iss": "test", "sub": f"user{n}", "aud": "registry.test", "exp": 2_000_000_000,
               "nbf": 1, "iat": 1, "jti": f"j{n}", "access": []} for n in range(3)]
    bad = {**claims[0], "exp": "tomorrow"}  # the registry would refuse it: not signed
    batch = [(rows.row(**values), claims[0]), (rows.row(**values), None),
             (rows.row(**values), bad), (rows.row(**values), claims[2])]
    signed = record_and_sign(audit, key, batch)
    assert len(read_after(audit, 0, 100)) == 4  # every record stored, the refusal's too
    assert signed[1] is None
    assert isinstance(signed[2], ValueError)
    for token, expected in ((signed[0], claims[0]), (signed[3], claims[2])):
        assert isinstance(token, str)
        decoded = jwt.decode(token, key.private_key.public_key(), algorithms=[key.algorithm],
                             audience="registry.test")
        assert decoded == expected
