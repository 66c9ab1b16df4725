"""Domain errors: each one means something a user can act on. The API maps them in one place."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a user can cause; `status` is the HTTP status the API answers with."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra


class InvalidInput(DomainError):
    status = 422
    title = "Invalid input"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class NotAllowed(DomainError):
    status = 403
    title = "Not allowed"


class NotSignedIn(DomainError):
    status = 401
    title = "Not signed in"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class InvalidTransition(Conflict):
    title = "Not possible in the request's current state"


class NotOwner(NotAllowed):
    title = "Only the accountable owner can do this"


class OfferNotOpen(Conflict):
    title = "The offer is no longer open"


class VersionConflict(Conflict):
    title = "The request changed since you loaded it"


class TooLarge(DomainError):
    """An upload over the size the desk accepts (`FOLLOWTHROUGH_ATTACHMENT_MAX_BYTES`)."""

    status = 413
    title = "Too large"


class UnsupportedType(DomainError):
    """An upload whose content (read from its first bytes, not its name) is not a kind the
    desk accepts."""

    status = 415
    title = "This kind of file is not accepted"


class ServiceBusy(DomainError):
    """The desk could not start the work within its bound (no free worker, no write turn, too
    many password checks at once). Nothing was changed; `retry_after` seconds is a fair wait."""

    status = 503
    title = "Busy; try again shortly"

    def __init__(self, detail: str, *, retry_after: int = 2, field: str | None = None) -> None:
        super().__init__(detail, field=field)
        self.retry_after = retry_after


class TooManyAttempts(DomainError):
    """Too many failed attempts (sign-in, join code) from one account or address."""

    status = 429
    title = "Too many attempts"

    def __init__(self, detail: str, *, retry_after: int, field: str | None = None) -> None:
        super().__init__(detail, field=field)
        self.retry_after = retry_after
