"""Errors that services raise for a person to read; views and the API turn them into 4xx."""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """A business rule said no. `code` is stable for clients; `message` is for people."""

    status = 400

    def __init__(self, message: str, *, code: str = "invalid", extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.extra = extra or {}

    def with_status(self, status: int) -> ApplicationError:
        """The same error answered with another HTTP status (e.g. 409, 429)."""
        self.status = status
        return self


class NotFound(ApplicationError):
    """The object does not exist *for this actor* (another tenant's rows answer the same)."""

    status = 404

    def __init__(self, message: str = "Not found.", *, code: str = "not_found") -> None:
        super().__init__(message, code=code)


class PermissionDenied(ApplicationError):
    """The actor can see the object but its role may not do this."""

    status = 403

    def __init__(
        self, message: str = "You do not have permission to do this.", *, code: str = "forbidden"
    ) -> None:
        super().__init__(message, code=code)
