"""Japanese full-text search of cases (n-grams on SQLite FTS5 and PostgreSQL tsvector).

Placeholder interface; the search engineer fills it in.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false
from sqlalchemy.orm import Session

from tsunagu.cases.models import Case


def index_case(session: Session, case: Case) -> None:
    """(Re)write the case's search document from its summary, description and comments."""
    del session, case


def keyword_clause(session: Session, keyword: str) -> ColumnElement[bool]:
    """A WHERE clause on ``Case`` true for the cases whose text contains ``keyword``."""
    del session, keyword
    return false()
