"""Errors of the vault."""

from tsunagu.core.errors import Conflict, NotFound


class RecordNotFound(NotFound):
    code = "record_not_found"


class RequestNotFound(NotFound):
    code = "request_not_found"


class RefTaken(Conflict):
    code = "ref_taken"


class PersonErased(Conflict):
    """The person's data key was destroyed: nothing about them can be stored or read."""

    code = "person_erased"
