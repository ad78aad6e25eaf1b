"""Domain errors that services raise and the API and views map to clear answers."""

from __future__ import annotations


class DomainError(Exception):
    """Base of the errors a service raises on purpose."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str = "", *, field_errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}


class ValidationFailed(DomainError):
    """Input that does not satisfy the rules; carries messages per field."""

    status_code = 400
    code = "invalid"


class NotFound(DomainError):
    """Missing, or not visible to the actor: the same answer for both (STYLE.md rule 5)."""

    status_code = 404
    code = "not_found"


class Forbidden(DomainError):
    """The actor is known to see the object but may not do this to it."""

    status_code = 403
    code = "forbidden"


class IllegalTransition(DomainError):
    """A state change the lifecycle does not allow from the current state."""

    status_code = 409
    code = "illegal_transition"


class Conflict(DomainError):
    """The request conflicts with the current state (a duplicate, a stale version)."""

    status_code = 409
    code = "conflict"


class RateLimited(DomainError):
    """Too many sensitive operations in a short time."""

    status_code = 429
    code = "rate_limited"
