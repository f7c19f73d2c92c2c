"""Errors of the central copy, each with a message for the person at the screen."""

from __future__ import annotations

from inference.errors import StorageError


class CentralError(StorageError):
    """The central server refused or could not do what was asked."""


class CentralUnavailable(CentralError):
    """The central server cannot be reached (offline, wrong address, refused login)."""


class ForkError(CentralError):
    """A station log differs from what it pushed before: it was rewritten after a push."""

    def __init__(self, message: str, *, station: str, first_differs: int | None, detail: str | None = None) -> None:
        super().__init__(message, detail=detail)
        self.station = station
        self.first_differs = first_differs


class SchemaTooOld(CentralError):
    """The server's schema is older than this Tilik needs (an administrator runs the migration)."""
