"""Names: the rules for usernames and namespace names, and unique claims on them.

A name is claimed by saving a `NameClaim` whose id is derived from the normalised name in the same
transaction as its owner, so a duplicate fails on the store's (id, version) key rather than by a
check-then-insert race (eventsourcing's contentmanagement `Index.create_id` pattern).
"""

from __future__ import annotations

import re
import unicodedata
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.errors import InvalidInputError
from domain.events import Created, Event
from domain.ids import name_id

NAMESPACE_NAME = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")
"""Portus F19; a subset of Distribution's path-component grammar."""

MAX_NAMESPACE_LENGTH = 255
MAX_USERNAME_LENGTH = 128
_ID_ROOT = uuid5(NAMESPACE_URL, "https://wharfinger.dev/ids")


def namespace_name_from_username(username: str) -> str | None:
    """Portus's `Namespace.make_valid` (F3): the personal namespace name for a username.

    Lower-case, strip junk at both ends, turn other characters into `_`, collapse runs of
    separators. None when nothing valid is left (e.g. `!!!!!`).
    """
    name = username.lower()
    alnum = [i for i, ch in enumerate(name) if ch.isascii() and ch.isalnum()]
    if not alnum:
        return None
    name = name[alnum[0] : alnum[-1] + 1]
    name = re.sub(r"[^a-z0-9._-]", "_", name)
    name = re.sub(r"[._-]{2,}", "_", name)
    name = name[:MAX_NAMESPACE_LENGTH].rstrip("._-")
    return name if NAMESPACE_NAME.fullmatch(name) else None


def check_namespace_name(name: str, *, field: str = "name") -> str:
    if not name:
        raise InvalidInputError("can't be blank", field=field)
    if len(name) > MAX_NAMESPACE_LENGTH:
        raise InvalidInputError(
            f"is too long (maximum is {MAX_NAMESPACE_LENGTH} characters)", field=field
        )
    if not NAMESPACE_NAME.fullmatch(name):
        raise InvalidInputError(
            "can only contain lower case alphanumeric characters, with optional underscores,"
            " dashes or dots in the middle",
            field=field,
        )
    return name


def check_username(username: str) -> str:
    """A username is what `docker login` sends before the colon of Basic auth."""
    if not username:
        raise InvalidInputError("can't be blank", field="username")
    if len(username) > MAX_USERNAME_LENGTH:
        raise InvalidInputError(
            f"is too long (maximum is {MAX_USERNAME_LENGTH} characters)", field="username"
        )
    if any(ch == ":" or ch.isspace() or unicodedata.category(ch)[0] == "C" for ch in username):
        raise InvalidInputError(
            "must not contain colons, spaces or control characters", field="username"
        )
    if namespace_name_from_username(username) is None:
        raise InvalidInputError(
            f"'{username}' cannot be transformed into a valid namespace name", field="username"
        )
    return username


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


def check_email(email: str, *, required: bool) -> str:
    email = email.strip()
    if not email:
        if required:
            raise InvalidInputError("can't be blank", field="email")
        return ""
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        raise InvalidInputError("is invalid", field="email")
    return email


def claim_id(kind: str, name: str) -> UUID:
    """The deterministic id of the claim on `name` among names of `kind`."""
    return name_id(_ID_ROOT, f"{kind}/{unicodedata.normalize('NFKC', name).casefold()}")


class NameClaim(Aggregate):
    """A unique name of a kind (user, team, namespace), owned by one aggregate at a time."""

    class Claimed(Created):
        kind: str
        name: str
        owner_id: UUID

        def apply(self, claim: NameClaim) -> None:
            claim.kind, claim.name, claim.owner_id = self.kind, self.name, self.owner_id

    class Released(Event):
        def apply(self, claim: NameClaim) -> None:
            claim.owner_id = None

    class Reclaimed(Event):
        name: str
        owner_id: UUID

        def apply(self, claim: NameClaim) -> None:
            claim.name, claim.owner_id = self.name, self.owner_id

    def __init__(self) -> None:
        self.kind = ""
        self.name = ""
        self.owner_id: UUID | None = None

    @classmethod
    def claim(cls, kind: str, name: str, owner_id: UUID) -> NameClaim:
        return cls._create(cls.Claimed, id=claim_id(kind, name), kind=kind, name=name,
                           owner_id=owner_id)

    def release(self) -> None:
        self.trigger_event(self.Released)

    def reclaim(self, name: str, owner_id: UUID) -> None:
        self.trigger_event(self.Reclaimed, name=name, owner_id=owner_id)
