"""The group commit's write for the token endpoint: store a batch of decision records, then sign
the batch's tokens, in the audit writer's thread.

Signing (ECDSA in `cryptography`, which lets go of the GIL while it signs) was the largest piece
of a token request on the event loop. Here it runs beside the loop, once the batch's records are
durable, so a token exists only for a recorded decision; the loop sends each token when its
commit returns. A token that cannot be signed (a bug: claims the registry would refuse) comes
back as its exception, for its own request alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent

from eventstore.append import append_rows
from web.token.jwt import EncodedClaims, sign_jwt
from web.token.keys import SigningKey

Claims = Mapping[str, object] | EncodedClaims
Decision = tuple[StoredEvent, Claims | None]
"""A decision record's row, and the claims of the token it grants (None: a refusal)."""


def record_and_sign(audit: Application[UUID], key: SigningKey,
                    decisions: Sequence[Decision]) -> list[str | Exception | None]:
    """Append the rows in one transaction (blocking), then each token's JWS, in order."""
    append_rows(audit, [row for row, _ in decisions])
    signed: list[str | Exception | None] = []
    for _, claims in decisions:
        if claims is None:
            signed.append(None)
            continue
        try:
            signed.append(sign_jwt(key, claims))
        except Exception as e:  # handed to the one request it belongs to
            signed.append(e)
    return signed
