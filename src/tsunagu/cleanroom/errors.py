"""The clean room's errors: a refused question and a spent privacy budget.

::

    AppError
    ├── InvalidInput (422)
    │   ├── QueryRefused (422, "query_refused")      — the question breaks the analysis rules
    │   └── RulesInvalid (422, "rules_invalid")      — the agreement's analysis rules are malformed
    └── Conflict (409)
        └── BudgetExhausted (409, "budget_exhausted") — the noisy query would overspend ε

Messages are plain English a Japanese analyst can act on: they say what was refused, why, and
what to ask instead.  They never echo data from the tables.
"""

from __future__ import annotations

from typing import Any

from tsunagu.core.errors import Conflict, InvalidInput


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


class RulesInvalid(InvalidInput):
    """The analysis rules of an agreement are malformed."""

    code = "rules_invalid"
    title = "Invalid analysis rules"


class BudgetExhausted(Conflict):
    """A noisy query would spend more privacy budget (ε) than the agreement has left."""

    code = "budget_exhausted"
    title = "Privacy budget exhausted"
