"""Pydantic shapes of the pipeline's JSON API.  Inputs forbid unknown fields.

Stage keys are short snake_case words (``lead``, ``qualified`` …); amounts are whole,
non-negative yen; times are ISO 8601 with an offset (a time without one is refused).
Step-shaped objects (targets) use ``from``/``to`` as the metrics report does.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from tsunagu.crm import service

Department = Literal["marketing", "inside_sales", "field_sales", "customer_success"]
Role = Literal["won", "lost", "churned", "renewal", "recycle", "dead_end"]
STAGE_KEY_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
#: the limits of ``crm.service``, for the API's own validation
MAX_AMOUNT = service.MAX_AMOUNT
MIN_YEAR = service.EARLIEST_YEAR


def in_range(value: datetime) -> datetime:
    """An aware time that exists in UTC and lies after ``MIN_YEAR`` began."""
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time lies outside the calendar") from None
    if utc.year < MIN_YEAR:
        raise ValueError(f"the time lies before {MIN_YEAR}")
    return value


#: a time with an offset, within the calendar
Moment = Annotated[AwareDatetime, AfterValidator(in_range)]


class StrictInput(BaseModel):
    """Unknown fields are refused, text is stripped, and no text holds a NUL character
    (PostgreSQL cannot store one)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="after")
    def _no_nul(self) -> Self:
        for name, value in self:
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str) and "\x00" in item:
                    raise ValueError(f"{name} contains a NUL character")
        return self


class Segments(StrictInput):
    """What the win rates break down by (owner is the entity's owner, set apart)."""

    industry: str | None = Field(default=None, max_length=60)
    size: str | None = Field(default=None, max_length=30)
    channel: str | None = Field(default=None, max_length=30)
    region: str | None = Field(default=None, max_length=30)


class EntityCreate(StrictInput):
    #: the organization's own id for it (``entity_id`` in the transitions CSV)
    ref: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=200)
    person_id: uuid.UUID | None = None
    owner_user_id: uuid.UUID | None = None
    segments: Segments = Field(default_factory=Segments)
    amount: int | None = Field(default=None, ge=0, le=MAX_AMOUNT)
    close_date: date | None = None


class EntityUpdate(StrictInput):
    """Only the fields sent change; ``null`` clears one."""

    segments: Segments | None = None
    amount: int | None = Field(default=None, ge=0, le=MAX_AMOUNT)
    close_date: date | None = None
    owner_user_id: uuid.UUID | None = None


class TransitionCreate(StrictInput):
    to_stage: str = Field(min_length=1, max_length=40)
    #: when it happened (default: now); not before the entity's last move, not in the future
    at: Moment | None = None
    reason: str = Field(default="", max_length=2000)
    amount: int | None = Field(default=None, ge=0, le=MAX_AMOUNT)
    #: the stage the caller believes the entity is in (``null``: no stage yet); a different
    #: current stage answers 409 ``stale_stage``.  Leave it out to skip the check.
    from_stage: str | None = Field(default=None, max_length=40)
    campaign_id: uuid.UUID | None = None


class TransitionOut(BaseModel):
    id: uuid.UUID
    entity_id: uuid.UUID
    seq: int
    from_stage: str | None
    to_stage: str
    at: datetime
    actor: str
    reason: str
    amount: int | None
    source: str
    campaign_id: uuid.UUID | None
    #: a forward move that skipped stages (or a first event past the first stage)
    fast_pass: bool
    recorded_at: datetime


class ExportedTransition(TransitionOut):
    #: the organization's ref of the entity (``entity_id`` of the CSV)
    entity_ref: str


class TransitionPage(BaseModel):
    items: list[ExportedTransition]
    #: pass as ``cursor`` for the next page; ``None`` at the end
    next_cursor: str | None


class TransitionImportOut(BaseModel):
    """What an import of transitions did."""

    imported: int
    #: entities made for refs the organization did not know yet
    created_entities: int
    encoding: str


class EntityOut(BaseModel):
    id: uuid.UUID
    ref: str
    name: str
    person_id: uuid.UUID | None
    owner_user_id: uuid.UUID | None
    segments: Segments
    amount: int | None
    close_date: date | None
    created_at: datetime
    #: the ``to_stage`` of its last transition (``None`` before the first)
    stage: str | None
    #: when it entered ``stage``
    stage_since: datetime | None


class EntityDetail(EntityOut):
    history: list[TransitionOut]


class EntityPage(BaseModel):
    items: list[EntityOut]
    limit: int
    offset: int
    #: the offset of the next page, or ``None`` at the end
    next_offset: int | None


class StageIn(StrictInput):
    key: str = Field(pattern=STAGE_KEY_PATTERN)
    department: Department
    label_ja: str = Field(min_length=1, max_length=100)
    label_en: str = Field(min_length=1, max_length=100)
    #: place on the main line (0, 1, 2 …); ``null`` for a side stage
    position: int | None = Field(default=None, ge=0, le=99)
    role: Role | None = None
    terminal: bool = False
    criterion_ja: str = Field(default="", max_length=2000)
    criterion_en: str = Field(default="", max_length=2000)
    #: activity kinds that move an entity here by themselves
    auto_on: list[str] = Field(default_factory=list, max_length=20)


class StageOut(BaseModel):
    key: str
    department: str
    label_ja: str
    label_en: str
    position: int | None
    role: str | None
    terminal: bool
    criterion_ja: str
    criterion_en: str
    auto_on: list[str]


class Move(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    from_stage: str = Field(alias="from", max_length=40)
    to_stage: str = Field(alias="to", max_length=40)


class StageModelIn(StrictInput):
    stages: list[StageIn] = Field(min_length=1, max_length=60)
    #: allowed moves besides forward moves on the main line; leave out for THE MODEL's
    #: side moves (recycle, dead end, lost, return, next term, churn) by role
    moves: list[Move] | None = Field(default=None, max_length=2000)


class StageModelOut(BaseModel):
    stages: list[StageOut]
    #: the main stages in order
    main_line: list[str]
    #: the side moves the model allows (forward moves on the main line always are)
    moves: list[Move]
    #: every allowed move: stage → stages it may move to; ``""`` lists the first stages
    allowed: dict[str, list[str]]
    fast_pass_rule_ja: str
    fast_pass_rule_en: str


class Target(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    from_stage: str = Field(alias="from", max_length=40)
    to_stage: str = Field(alias="to", max_length=40)
    rate: float = Field(ge=0, le=1, allow_inf_nan=False)


class Targets(BaseModel):
    model_config = ConfigDict(extra="forbid")

    targets: list[Target] = Field(max_length=200)


__all__ = [
    "EntityCreate",
    "EntityDetail",
    "EntityOut",
    "EntityPage",
    "EntityUpdate",
    "ExportedTransition",
    "Move",
    "Segments",
    "StageIn",
    "StageModelIn",
    "StageModelOut",
    "StageOut",
    "Target",
    "Targets",
    "TransitionCreate",
    "TransitionImportOut",
    "TransitionOut",
    "TransitionPage",
]
