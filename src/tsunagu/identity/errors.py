"""Errors of the identity domain."""

from tsunagu.core.errors import Conflict, NotAuthenticated, NotFound, PermissionDenied


class OrganizationNotFound(NotFound):
    code = "organization_not_found"


class StaffUserNotFound(NotFound):
    code = "staff_user_not_found"


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"


class PersonNotFound(NotFound):
    code = "person_not_found"


class SlugTaken(Conflict):
    code = "slug_taken"


class EmailTaken(Conflict):
    code = "email_taken"


class InvalidCredentials(NotAuthenticated):
    code = "invalid_credentials"


class SessionExpired(NotAuthenticated):
    code = "session_expired"


class RoleTooLow(PermissionDenied):
    code = "role_too_low"
