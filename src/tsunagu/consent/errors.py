"""Errors of the consent domain."""

from tsunagu.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied


class UnknownCategory(InvalidInput):
    code = "unknown_category"


class UnknownPurpose(InvalidInput):
    code = "unknown_purpose"


class ExpiryInPast(InvalidInput):
    code = "expiry_in_past"


class ConsentNotFound(NotFound):
    code = "consent_not_found"


class ConsentRequestNotFound(NotFound):
    code = "consent_request_not_found"


class ConsentNotActive(Conflict):
    code = "consent_not_active"


class PurposeTaken(Conflict):
    code = "purpose_taken"


class NotGuardian(PermissionDenied):
    code = "not_guardian"


class MinorMustUseGuardian(PermissionDenied):
    code = "minor_needs_guardian"


class ConsentRequired(PermissionDenied):
    """A read the policy decision point denied; ``reason`` says why."""

    code = "consent_required"
