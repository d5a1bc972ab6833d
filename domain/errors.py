"""The one family of domain errors: a refused command, with a status the web layer can map.

Guards raise these before any event is recorded, so a refused command never half-applies.
"""

from __future__ import annotations


class DomainError(Exception):
    """A command was refused. `field` names the offending input when there is one."""

    status = 422

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInputError(DomainError):
    status = 400


class NotFoundError(DomainError):
    status = 404


class NameTakenError(DomainError):
    status = 409


class ConflictError(DomainError):
    """Another command changed the same thing at the same time; retrying may succeed."""

    status = 409


class ForbiddenError(DomainError):
    status = 403


class NotAllowedError(DomainError):
    """The operation is switched off on this instance (Portus answers 405)."""

    status = 405


class LastOwnerError(DomainError):
    status = 422


class AccountDisabledError(DomainError):
    status = 401
