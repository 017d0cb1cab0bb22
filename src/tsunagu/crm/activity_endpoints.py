"""JSON API of activities and handoff ratings (thin: parse, check the caller, call the
service, shape the answer).

Mounted under ``/api/v1``; every endpoint needs the organization's API key, writing needs
the member role.  An entity, transition or campaign of another organization answers 404,
exactly as one that does not exist.

==============================================  ======  ==================================
path                                            role    what
==============================================  ======  ==================================
POST /crm/entities/{id}/activities              member  record an activity; the automatic
                                                        rule may move the entity (201, the
                                                        activity and its ``transition``)
GET  /crm/entities/{id}/activities              any     the entity's activities, newest
                                                        first
POST /crm/activities                            member  many activities at once (a mail
                                                        tool's export): all or nothing,
                                                        row-level errors (201)
GET  /crm/handoffs?state=pending|rated|all      any     handoffs between departments,
                                                        newest first
POST /crm/handoffs/{transition_id}/rating       member  rate a handoff 1–5 with a comment
                                                        (200; 422 not a handoff or a bad
                                                        rating; 409 rated by someone else
                                                        or after 7 days)
GET  /crm/handoffs/report?period=&start=&end=   any     the feedback report (DuckDB)
==============================================  ======  ==================================
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from tsunagu.consent.service import actor_label
from tsunagu.core.clock import utcnow
from tsunagu.crm import activities, handoffs
from tsunagu.crm.models import CrmActivity
from tsunagu.crm.schemas import Moment, StrictInput
from tsunagu.crm.service import organization_timezone
from tsunagu.identity.dependencies import ApiActor, DbSession, MemberActor
from tsunagu.identity.service import Actor

router = APIRouter(tags=["crm"])


class _Strict(StrictInput):
    """Unknown fields refused, text stripped, no NUL characters (``crm.schemas``)."""


class ActivityCreate(_Strict):
    kind: str = Field(min_length=1, max_length=40)
    #: when it happened (default: now)
    at: Moment | None = None
    campaign_id: uuid.UUID | None = None
    note: str = Field(default="", max_length=activities.MAX_NOTE)


class BulkActivity(_Strict):
    entity_id: uuid.UUID | None = None
    entity_ref: str | None = Field(default=None, min_length=1, max_length=100)
    kind: str = Field(min_length=1, max_length=40)
    at: Moment
    campaign_id: uuid.UUID | None = None
    note: str = Field(default="", max_length=activities.MAX_NOTE)


class BulkCreate(_Strict):
    activities: list[BulkActivity] = Field(min_length=1, max_length=activities.MAX_BULK)


class TransitionOut(BaseModel):
    id: uuid.UUID
    from_stage: str | None
    to_stage: str
    at: datetime


class ActivityOut(BaseModel):
    id: uuid.UUID
    entity_id: uuid.UUID
    kind: str
    at: datetime
    campaign_id: uuid.UUID | None
    note: str
    transition_id: uuid.UUID | None


class RecordedOut(ActivityOut):
    #: the move the automatic rule made, if any
    transition: TransitionOut | None


class MoveOut(BaseModel):
    entity_id: uuid.UUID
    transition_id: uuid.UUID
    from_stage: str | None
    to_stage: str
    at: datetime
    kind: str


class BulkOut(BaseModel):
    recorded: int
    moved: int
    moves: list[MoveOut]


class RatingIn(_Strict):
    rating: int = Field(ge=1, le=5, strict=True)
    comment: str = Field(default="", max_length=handoffs.MAX_COMMENT)


class HandoffOut(BaseModel):
    transition_id: uuid.UUID
    entity_id: uuid.UUID
    entity_ref: str
    entity_name: str
    from_stage: str
    to_stage: str
    giving: str
    receiving: str
    fast_pass: bool
    at: datetime
    actor: str
    campaign_id: uuid.UUID | None
    rating: int | None
    comment: str | None
    rated_by: str | None
    rated_at: datetime | None


class RatingOut(BaseModel):
    transition_id: uuid.UUID
    rating: int
    comment: str
    rated_by: str
    rated_at: datetime


def _activity_out(activity: CrmActivity) -> dict[str, Any]:
    return {
        "id": activity.id,
        "entity_id": activity.entity_id,
        "kind": activity.kind,
        "at": activity.at,
        "campaign_id": activity.campaign_id,
        "note": activity.note,
        "transition_id": activity.transition_id,
    }


def rater_label(actor: Actor) -> str:
    """Who rated, as stored (``staff:<id>`` / ``api_key:<id>``)."""
    return actor_label(actor)


# --- activities ----------------------------------------------------------------------------


@router.post(
    "/crm/entities/{entity_id}/activities",
    response_model=RecordedOut,
    status_code=status.HTTP_201_CREATED,
)
def record_activity(
    entity_id: uuid.UUID, body: ActivityCreate, actor: MemberActor, db: DbSession
) -> RecordedOut:
    recorded = activities.record_activity(
        db,
        actor.org_id,
        entity_id,
        kind=body.kind,
        at=body.at,
        campaign_id=body.campaign_id,
        note=body.note,
    )
    moved = recorded.transition
    return RecordedOut(
        **_activity_out(recorded.activity),
        transition=None
        if moved is None
        else TransitionOut(
            id=moved.id, from_stage=moved.from_stage, to_stage=moved.to_stage, at=moved.at
        ),
    )


@router.get("/crm/entities/{entity_id}/activities", response_model=list[ActivityOut])
def list_activities(
    entity_id: uuid.UUID,
    actor: ApiActor,
    db: DbSession,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[ActivityOut]:
    rows = activities.activities_of(db, actor.org_id, entity_id, limit=limit)
    return [ActivityOut(**_activity_out(a)) for a in rows]


@router.post("/crm/activities", response_model=BulkOut, status_code=status.HTTP_201_CREATED)
def record_many(body: BulkCreate, actor: MemberActor, db: DbSession) -> BulkOut:
    result = activities.record_activities(
        db,
        actor.org_id,
        [
            activities.ActivityIn(
                kind=a.kind,
                at=a.at,
                entity_id=a.entity_id,
                entity_ref=a.entity_ref,
                campaign_id=a.campaign_id,
                note=a.note,
            )
            for a in body.activities
        ],
    )
    return BulkOut(
        recorded=result.recorded,
        moved=len(result.moves),
        moves=[
            MoveOut(
                entity_id=m.entity_id,
                transition_id=m.transition_id,
                from_stage=m.from_stage,
                to_stage=m.to_stage,
                at=m.at,
                kind=m.kind,
            )
            for m in result.moves
        ],
    )


# --- handoffs ------------------------------------------------------------------------------


@router.get("/crm/handoffs/report")
def handoff_report(
    actor: ApiActor,
    db: DbSession,
    period: Literal["week", "month"] = "week",
    start: date | None = None,
    end: date | None = None,
) -> dict[str, Any]:
    if start is None or end is None:
        zone = organization_timezone(db, actor.org_id)
        first, stop = handoffs.default_range(_today(zone), period)
        start, end = start or first, end or stop
    return handoffs.report(db, actor.org_id, start=start, end=end, period=period).as_json()


@router.get("/crm/handoffs", response_model=list[HandoffOut])
def list_handoffs(
    actor: ApiActor,
    db: DbSession,
    state: Literal["pending", "rated", "all"] = "pending",
    limit: Annotated[int, Query(ge=1, le=handoffs.MAX_LIST)] = 100,
) -> list[HandoffOut]:
    rows = handoffs.handoffs(db, actor.org_id, state=state, limit=limit)
    return [
        HandoffOut(
            transition_id=h.transition_id,
            entity_id=h.entity_id,
            entity_ref=h.entity_ref,
            entity_name=h.entity_name,
            from_stage=h.from_stage,
            to_stage=h.to_stage,
            giving=h.giving,
            receiving=h.receiving,
            fast_pass=h.fast_pass,
            at=h.at,
            actor=h.actor,
            campaign_id=h.campaign_id,
            rating=h.rating,
            comment=h.comment,
            rated_by=h.rated_by,
            rated_at=h.rated_at,
        )
        for h in rows
    ]


@router.post("/crm/handoffs/{transition_id}/rating", response_model=RatingOut)
def rate_handoff(
    transition_id: uuid.UUID, body: RatingIn, actor: MemberActor, db: DbSession
) -> RatingOut:
    row = handoffs.rate(
        db,
        actor.org_id,
        transition_id,
        rating=body.rating,
        comment=body.comment,
        rater=rater_label(actor),
    )
    return RatingOut(
        transition_id=row.transition_id,
        rating=row.rating,
        comment=row.comment,
        rated_by=row.rated_by,
        rated_at=row.rated_at,
    )


def _today(zone: str) -> date:
    return utcnow().astimezone(ZoneInfo(zone)).date()
