"""The metadata Alembic compares against: import every domain's models here."""

from __future__ import annotations

from typing import Any

from tsunagu.cases import models as _cases_models  # noqa: F401
from tsunagu.consent import models as _consent_models  # noqa: F401
from tsunagu.core.database import Base
from tsunagu.crm import models as _crm_models  # noqa: F401
from tsunagu.identity import models as _identity_models  # noqa: F401
from tsunagu.ledger import models as _ledger_models  # noqa: F401
from tsunagu.linkage import models as _linkage_models  # noqa: F401
from tsunagu.vault import models as _vault_models  # noqa: F401

target_metadata = Base.metadata


#: schema objects the migrations make by hand that no model describes: the SQLite FTS5
#: table of case search (and its shadow tables) and PostgreSQL's ``tsvector`` column of it
_UNMODELLED_TABLES = ("cases_fts",)
_UNMODELLED_COLUMNS = {("cases_search_docs", "grams")}


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic's filter: leave out what the migrations create by hand (see above)."""
    if type_ == "table" and name is not None and name.startswith(_UNMODELLED_TABLES):
        return False
    if type_ == "column" and reflected and compare_to is None:
        table = getattr(getattr(obj, "table", None), "name", None)
        return (table, name) not in _UNMODELLED_COLUMNS
    return not (
        type_ == "index"
        and reflected
        and name is not None
        and name.startswith("ix_cases_search_docs_grams")
    )
