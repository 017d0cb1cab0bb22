"""The error tree.  Every failure a person or a client sees is an ``AppError``.

::

    AppError (400, "bad_request")
    ├── InvalidInput (422, "invalid_input")       — with per-field / per-row ``errors``
    ├── NotAuthenticated (401, "not_authenticated")
    ├── PermissionDenied (403, "permission_denied")
    ├── NotFound (404, "not_found")
    ├── Conflict (409, "conflict")
    └── PayloadTooLarge (413, "payload_too_large")

Domains subclass these with their own stable ``code``.  Services raise them; the web layer
renders them as ``application/problem+json`` (RFC 9457) or as a friendly page, the CLI as one
line on stderr.  Messages never contain another tenant's data.
"""

from __future__ import annotations

from typing import Any, ClassVar


class AppError(Exception):
    """Base of every error tsunagu reports to a person or a client."""

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, message: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or []


class InvalidInput(AppError):
    status_code = 422
    code = "invalid_input"
    title = "Invalid input"


class NotAuthenticated(AppError):
    status_code = 401
    code = "not_authenticated"
    title = "Not authenticated"


class PermissionDenied(AppError):
    status_code = 403
    code = "permission_denied"
    title = "Permission denied"


class NotFound(AppError):
    status_code = 404
    code = "not_found"
    title = "Not found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"
    title = "Conflict"


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"
    title = "Payload too large"
