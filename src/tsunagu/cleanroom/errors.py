"""The clean room's error: a refused question.

::

    AppError
    └── InvalidInput (422)
        └── QueryRefused (422, "query_refused")      — the question breaks the analysis rules

(The agreement's own errors — malformed analysis rules, a spent privacy budget — live with
the agreement in :mod:`tsunagu.linkage.errors`.)

Messages are plain English a Japanese analyst can act on: they say what was refused, why, and
what to ask instead.  They never echo data from the tables.
"""

from __future__ import annotations

from typing import Any

from tsunagu.core.errors import InvalidInput


class QueryRefused(InvalidInput):
    """The question asks for something the analysis rules do not allow."""

    code = "query_refused"
    title = "Query refused"

    def __init__(
        self,
        message: str,
        *,
        reason: str = "not_allowed",
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message, errors=errors or [{"reason": reason}])
        #: a stable machine-readable reason, e.g. ``row_level``, ``unknown_column``
        self.reason = reason
