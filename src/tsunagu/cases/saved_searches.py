"""Saved searches: a staff user's named filters of the case list.

A saved search belongs to one staff user in one organization and holds the list's query
parameters as the API names them (``{"project": ["SUP"], "statusId[]": [...]}``), so the
pages and the API replay it the same way.  Only the parameters of the case list
(``QUERY_KEYS``) are kept; anything else is refused.  Names are unique per user.

API keys have no user of their own: the API says whose saved searches it reads or
changes (``userId``, a staff user of the key's organization).  Services flush only.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.cases.errors import ItemNotFound, NameTaken
from tsunagu.cases.models import SavedSearch
from tsunagu.core.errors import InvalidInput
from tsunagu.identity.models import Membership

#: the case list's query parameters a saved search may hold
QUERY_KEYS = frozenset(
    {
        "project",
        "keyword",
        "statusId[]",
        "assigneeId[]",
        "createdUserId[]",
        "issueTypeId[]",
        "priority",
        "categoryId[]",
        "milestoneId[]",
        "parentIssueId",
        "parentChild",
        "overdue",
        "notClosed",
        "unassigned",
        "dueDateSince",
        "dueDateUntil",
        "startDateSince",
        "startDateUntil",
        "createdSince",
        "createdUntil",
        "updatedSince",
        "updatedUntil",
        "sort",
        "order",
        "count",
    }
)
MAX_VALUES = 100
MAX_VALUE_LENGTH = 200
MAX_PER_USER = 100


def _check_user(session: Session, organization_id: uuid.UUID, user_id: uuid.UUID) -> None:
    if not session.scalar(
        select(Membership.id).where(
            Membership.organization_id == organization_id, Membership.user_id == user_id
        )
    ):
        raise ItemNotFound("no such staff user in this organization")


def check_query(query: Mapping[str, str | list[str]]) -> dict[str, list[str]]:
    """The query as stored: known keys only, every value a list of short texts."""
    clean: dict[str, list[str]] = {}
    for name, value in query.items():
        if name not in QUERY_KEYS:
            raise InvalidInput(f"query: {name!r} is not a parameter of the case list")
        values = [value] if isinstance(value, str) else list(value)
        if len(values) > MAX_VALUES:
            raise InvalidInput(f"query: at most {MAX_VALUES} values of {name}")
        for item in values:
            if len(item) > MAX_VALUE_LENGTH or "\x00" in item:
                raise InvalidInput(f"query: a value of {name} is too long or not text")
        clean[name] = values
    return clean


def list_searches(
    session: Session, organization_id: uuid.UUID, user_id: uuid.UUID
) -> list[SavedSearch]:
    """The user's saved searches in this organization, by name."""
    _check_user(session, organization_id, user_id)
    return list(
        session.scalars(
            select(SavedSearch)
            .where(SavedSearch.organization_id == organization_id, SavedSearch.user_id == user_id)
            .order_by(SavedSearch.name)
        )
    )


def save_search(
    session: Session,
    organization_id: uuid.UUID,
    user_id: uuid.UUID,
    name: str,
    query: Mapping[str, str | list[str]],
) -> SavedSearch:
    """A new saved search of the user (its name unused among theirs)."""
    _check_user(session, organization_id, user_id)
    name = name.strip()
    if not name or len(name) > 100 or "\x00" in name:
        raise InvalidInput("name: 1 to 100 characters")
    clean = check_query(query)
    mine = select(SavedSearch).where(
        SavedSearch.organization_id == organization_id, SavedSearch.user_id == user_id
    )
    if session.scalar(mine.where(SavedSearch.name == name)) is not None:
        raise NameTaken(f"a saved search named {name!r} exists already")
    if len(session.scalars(mine).all()) >= MAX_PER_USER:
        raise InvalidInput(f"at most {MAX_PER_USER} saved searches per user")
    row = SavedSearch(organization_id=organization_id, user_id=user_id, name=name, query=clean)
    session.add(row)
    session.flush()
    return row


def get_search(session: Session, organization_id: uuid.UUID, search_id: uuid.UUID) -> SavedSearch:
    """A saved search of the organization (another organization's answers not-found)."""
    row = session.get(SavedSearch, search_id)
    if row is None or row.organization_id != organization_id:
        raise ItemNotFound("no such saved search")
    return row


def delete_search(
    session: Session,
    organization_id: uuid.UUID,
    search_id: uuid.UUID,
    *,
    user_id: uuid.UUID | None = None,
) -> None:
    """Delete a saved search (``user_id``: only if it is theirs — the pages pass it)."""
    row = get_search(session, organization_id, search_id)
    if user_id is not None and row.user_id != user_id:
        raise ItemNotFound("no such saved search")
    session.delete(row)
    session.flush()
