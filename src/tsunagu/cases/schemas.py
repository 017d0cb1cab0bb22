"""Pydantic shapes of the cases JSON API, with the field names a Backlog user knows.

Inputs forbid unknown fields and take JSON types strictly (a date is ``"YYYY-MM-DD"``, an
id is a UUID string, a number is a number): anything else is a 422 problem naming the
field.  Ids of statuses, types, categories, milestones and users are UUIDs; a case is
named by its key (``SUP-12``).  Outputs carry names beside ids (``{"id": …, "name": …}``)
so that a client needs no second request to show a case.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictFloat
from pydantic.alias_generators import to_camel

from tsunagu.cases import service
from tsunagu.crm.schemas import StrictInput

Priority = Literal["high", "normal", "low"]
MAX_NOTIFY = 100
MAX_HOURS = float(service.MAX_HOURS)


def _iso_day(value: Any) -> Any:
    if not isinstance(value, str | date) or isinstance(value, datetime):
        raise ValueError("a date expected as text: YYYY-MM-DD")
    return value


#: a date sent as ``"YYYY-MM-DD"`` (not a number of seconds)
Day = Annotated[date, BeforeValidator(_iso_day)]
Hours = Annotated[StrictFloat, Field(ge=0, le=MAX_HOURS, allow_inf_nan=False)]


class StrictBody(StrictInput):
    """A JSON body: unknown fields refused, Backlog's camelCase names, no ``"1"`` for 1 or
    ``"true"`` for true, dates as ``YYYY-MM-DD``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, alias_generator=to_camel)


# --- input -------------------------------------------------------------------------------


class CaseFields(StrictBody):
    """The fields a case is created or changed with (Backlog's names)."""

    summary: str | None = Field(default=None, max_length=service.MAX_SUMMARY)
    description: str | None = Field(default=None, max_length=service.MAX_TEXT)
    issue_type_id: uuid.UUID | None = None
    priority: Priority | None = None
    status_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    start_date: Day | None = None
    due_date: Day | None = None
    estimated_hours: Hours | None = None
    actual_hours: Hours | None = None
    category_id: uuid.UUID | None = None
    milestone_id: uuid.UUID | None = None
    #: the parent case, by key (``SUP-3``) — sub-cases are one level deep
    parent_issue: str | None = Field(default=None, max_length=24)
    #: custom field name (or id) → value (text, number, ``YYYY-MM-DD``, a choice or choices)
    custom_fields: dict[str, Any] | None = None
    notified_user_id: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_NOTIFY)


class CaseCreate(CaseFields):
    """``POST /cases``: ``project`` (key) and ``summary`` are required."""

    project: str = Field(min_length=1, max_length=10)
    summary: str = Field(min_length=1, max_length=service.MAX_SUMMARY)


class CaseUpdate(CaseFields):
    """``PATCH /cases/{key}``: only the fields sent change; ``null`` clears one.  An
    optional ``comment`` goes into the same timeline entry."""

    comment: str | None = Field(default=None, max_length=service.MAX_TEXT)


class CommentCreate(StrictBody):
    content: str = Field(min_length=1, max_length=service.MAX_TEXT)
    #: a reply the inquirer who opened the case sees on their follow-up page
    public: StrictBool = False
    notified_user_id: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_NOTIFY)


class LinkCreate(StrictBody):
    """A link to a person (``id``: the person's id), a CRM deal (``id``: the entity's id)
    or another case (``key``: ``ENG-3``, or ``id``)."""

    kind: Literal["person", "deal", "case"]
    id: uuid.UUID | None = None
    key: str | None = Field(default=None, max_length=24)
    relation: Literal["relates", "duplicates", "blocks"] = "relates"


class WatcherCreate(StrictBody):
    user_id: uuid.UUID


class EscalationCreate(StrictBody):
    project: str = Field(min_length=1, max_length=10)
    mode: Literal["copy", "move"] = "copy"
    comment: str | None = Field(default=None, max_length=service.MAX_TEXT)


class SavedSearchCreate(StrictBody):
    """A named filter of the case list for one staff user (``userId``: API keys have no
    user of their own, so they say whose search it is)."""

    user_id: uuid.UUID
    name: str = Field(min_length=1, max_length=100)
    #: the list's query parameters, e.g. ``{"project": ["SUP"], "statusId[]": [...]}``
    query: dict[str, str | list[str]] = Field(default_factory=dict)


# --- output ------------------------------------------------------------------------------


class Out(BaseModel):
    """An answer: built with Python names, sent with Backlog's camelCase names."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class Named(Out):
    """Something shown by name: a status, type, category, milestone, user, priority."""

    id: str | None
    name: str
    name_en: str | None = None


class ProjectRef(Out):
    id: uuid.UUID
    key: str
    name: str


class CaseOut(Out):
    """A case as lists show it."""

    id: uuid.UUID
    key: str
    issue_key: str
    key_id: int
    project: ProjectRef
    summary: str
    description: str
    issue_type: Named | None
    priority: Named
    status: Named
    closed: bool
    assignee: Named | None
    start_date: date | None
    due_date: date | None
    estimated_hours: float | None
    actual_hours: float | None
    category: Named | None
    milestone: Named | None
    parent_issue_id: uuid.UUID | None
    parent_issue_key: str | None
    source: str
    created_user: Named
    created: datetime
    updated: datetime


class CasePageOut(Out):
    items: list[CaseOut]
    #: matches counted up to 10,000; ``more`` says there are more than that
    total: int
    more: bool = False
    count: int
    offset: int


class CustomFieldValueOut(Out):
    id: uuid.UUID
    name: str
    kind: str
    value: Any


class LinkOut(Out):
    """A link; for a person only their id and the organization's own reference, and the
    name and e-mail only when the consent decision point allowed reading them."""

    id: uuid.UUID
    kind: str
    relation: str
    target_id: uuid.UUID
    #: a linked case's key, a deal's name
    label: str | None = None
    ref: str | None = None
    name: str | None = None
    email: str | None = None
    #: for a person: whether the decision point allowed reading their contact details
    disclosed: bool | None = None


class CommentOut(Out):
    id: uuid.UUID
    content: str
    #: ``content`` rendered from Markdown and sanitised (no script survives)
    html: str
    public: bool
    from_inquirer: bool
    created_user: Named
    notified_user_id: list[str]
    created: datetime
    edited: datetime | None


class AttachmentOut(Out):
    id: uuid.UUID
    name: str
    content_type: str
    size: int
    sha256: str
    created_user: Named
    created: datetime


class EventOut(Out):
    """One entry of the timeline: who changed what from → to (names as they were)."""

    seq: int
    at: datetime
    kind: str
    actor: Named
    changes: list[dict[str, Any]]
    comment_id: uuid.UUID | None
    attachment_id: uuid.UUID | None


class ChildOut(Out):
    id: uuid.UUID
    key: str
    summary: str
    status: Named


class CaseDetailOut(CaseOut):
    description_html: str
    custom_fields: list[CustomFieldValueOut]
    watchers: list[Named]
    links: list[LinkOut]
    children: list[ChildOut]
    attachments: list[AttachmentOut]
    comments: list[CommentOut]
    timeline: list[EventOut]


class CountOut(Out):
    status: Named
    count: int


class AssigneeRowOut(Out):
    assignee: Named | None
    counts: list[CountOut]
    total: int


class ByAssigneeOut(Out):
    rows: list[AssigneeRowOut]


class BoardColumnOut(Out):
    status: Named
    count: int
    cards: list[CaseOut]


class BoardOut(Out):
    project: ProjectRef
    columns: list[BoardColumnOut]


class GanttOut(Out):
    since: date
    until: date
    items: list[CaseOut]
    total: int


class SavedSearchOut(Out):
    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    query: dict[str, Any]
    created: datetime
