"""Errors of the cases domain (each becomes problem+json or the friendly error page)."""

from typing import ClassVar

from tsunagu.core.errors import AppError, Conflict, InvalidInput, NotFound, PermissionDenied


class ProjectNotFound(NotFound):
    """No such project, or one the caller may not see (the two look the same)."""

    code = "project_not_found"


class CaseNotFound(NotFound):
    code = "case_not_found"


class ItemNotFound(NotFound):
    """A status, type, category, milestone, custom field, comment or attachment."""

    code = "item_not_found"


class ProjectKeyTaken(Conflict):
    code = "project_key_taken"


class NameTaken(Conflict):
    code = "name_taken"


class ProjectRoleTooLow(PermissionDenied):
    """The caller sees the project but their role in it does not allow this."""

    code = "project_role_too_low"


class InvalidCaseField(InvalidInput):
    code = "invalid_case_field"


class AttachmentRefused(InvalidInput):
    """An attachment of a type the store does not take (or whose bytes are not that type)."""

    code = "attachment_refused"


class AttachmentTooLarge(AppError):
    status_code: ClassVar[int] = 413
    code = "attachment_too_large"
    title = "Attachment too large"


class TooManyRequests(AppError):
    """The public inquiry form was used too often from one address."""

    status_code: ClassVar[int] = 429
    code = "too_many_requests"
    title = "Too many requests"
