"""JSON API of the pipeline (thin: parse, check the caller may, call the service, shape it).

Mounted under ``/api/v1``.  Every endpoint needs an organization's API key; writing needs
the member role, changing the stage model or the targets the admin role (a viewer key
reads only).  An entity or campaign of another organization answers 404, exactly as one
that does not exist.

===============================================  ======  ================================
path                                             role    what
===============================================  ======  ================================
GET  /crm/metrics?start=&end=&period=            any     the metrics report (flow,
                                                         balance, conversion, bottleneck …)
POST /crm/entities                               member  a new entity (201)
GET  /crm/entities?stage=&ref=&limit=&offset=   any     entities with their current stage
GET  /crm/entities/{id}                          any     one entity, with its history
PATCH /crm/entities/{id}                         member  segments, amount, close date, owner
POST /crm/entities/{id}/transitions              member  move it (201; 409 ``stale_stage``,
                                                         422 ``invalid_transition`` …)
GET  /crm/transitions?since=&until=&cursor=      any     the events, in time order, by pages
GET  /crm/transitions.csv?since=&until=          any     the same as the CSV the import reads
POST /crm/transitions/import                     member  history from CSV (all or nothing)
GET  /crm/stages                                 any     the stage model and its moves
PUT  /crm/stages                                 admin   replace the stage model
GET  /crm/targets                                any     conversion targets per step
PUT  /crm/targets                                admin   replace them
===============================================  ======  ================================
"""

from __future__ import annotations

import uuid
from datetime import UTC, date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from tsunagu.consent.service import actor_label
from tsunagu.core.errors import InvalidInput
from tsunagu.core.settings import Settings
from tsunagu.crm import manage, service
from tsunagu.crm.importing import import_transitions
from tsunagu.crm.metrics import MetricsQuery, report
from tsunagu.crm.models import CrmEntity, CrmTransition
from tsunagu.crm.schemas import (
    EntityCreate,
    EntityDetail,
    EntityOut,
    EntityPage,
    EntityUpdate,
    ExportedTransition,
    Moment,
    Segments,
    StageModelIn,
    StageModelOut,
    Target,
    Targets,
    TransitionCreate,
    TransitionImportOut,
    TransitionOut,
    TransitionPage,
)
from tsunagu.crm.stages import Stage, StageModel
from tsunagu.identity.dependencies import AdminActor, ApiActor, DbSession, MemberActor
from tsunagu.identity.import_endpoints import CSV_BODY, read_csv
from tsunagu.vault.service import access_person

router = APIRouter(tags=["crm"])

# --- shaping -----------------------------------------------------------------------------


def _transition_out(model: StageModel, t: CrmTransition) -> dict[str, Any]:
    return {
        "id": t.id,
        "entity_id": t.entity_id,
        "seq": t.seq,
        "from_stage": t.from_stage,
        "to_stage": t.to_stage,
        "at": t.at.astimezone(UTC),  # as stored, whatever offset the caller wrote
        "actor": t.actor,
        "reason": t.reason,
        "amount": t.amount,
        "source": t.source,
        "campaign_id": t.campaign_id,
        "fast_pass": model.is_fast_pass(t.from_stage, t.to_stage),
        "recorded_at": t.recorded_at,
    }


def _entity_fields(entity: CrmEntity) -> dict[str, Any]:
    return {
        "id": entity.id,
        "ref": entity.ref,
        "name": entity.name,
        "person_id": entity.person_id,
        "owner_user_id": entity.owner_user_id,
        "segments": Segments(
            industry=entity.industry,
            size=entity.size,
            channel=entity.channel,
            region=entity.region,
        ),
        "amount": entity.amount,
        "close_date": entity.close_date,
        "created_at": entity.created_at,
    }


def _detail(db: Session, organization_id: uuid.UUID, entity: CrmEntity) -> EntityDetail:
    model = service.load_model(db, organization_id)
    history = service.history(db, organization_id, entity.id)
    last = history[-1] if history else None
    return EntityDetail(
        **_entity_fields(entity),
        stage=last.to_stage if last else None,
        stage_since=last.at if last else None,
        history=[TransitionOut(**_transition_out(model, t)) for t in history],
    )


# --- metrics -----------------------------------------------------------------------------


@router.get("/crm/metrics")
def metrics(
    actor: ApiActor,
    db: DbSession,
    start: Annotated[date, Query(description="first day, YYYY-MM-DD (org's time zone)")],
    end: Annotated[date, Query(description="day after the last, YYYY-MM-DD: [start, end)")],
    period: Literal["week", "month"] = "week",
    window_days: Annotated[int, Query(ge=1)] = 90,
    industry: Annotated[str | None, Query(max_length=60)] = None,
    size: Annotated[str | None, Query(max_length=30)] = None,
    channel: Annotated[str | None, Query(max_length=30)] = None,
    region: Annotated[str | None, Query(max_length=30)] = None,
    owner: Annotated[str | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    """The metrics report of THE MODEL over ``[start, end)`` (see docs/crm/api.md)."""
    if end <= start:
        raise InvalidInput("end must lie after start (the range is [start, end))")
    filters = {
        "industry": industry,
        "size": size,
        "channel": channel,
        "region": region,
        "owner": owner,
    }
    segment = {k: v for k, v in filters.items() if v}
    query = MetricsQuery(
        start=start,
        end=end,
        period=period,
        timezone=service.organization_timezone(db, actor.org_id),
        window_days=window_days,
        segment=segment or None,
    )
    return report(db, actor.org_id, query)


# --- entities ----------------------------------------------------------------------------


@router.post("/crm/entities", response_model=EntityDetail, status_code=status.HTTP_201_CREATED)
def create_entity(body: EntityCreate, actor: MemberActor, db: DbSession) -> EntityDetail:
    if body.person_id is not None:
        access_person(db, actor.org_id, body.person_id)
    manage.check_owner(db, actor.org_id, body.owner_user_id)
    entity = service.create_entity(
        db,
        actor.org_id,
        ref=body.ref,
        name=body.name,
        person_id=body.person_id,
        owner_user_id=body.owner_user_id,
        industry=body.segments.industry,
        size=body.segments.size,
        channel=body.segments.channel,
        region=body.segments.region,
        amount=body.amount,
        close_date=body.close_date,
    )
    return _detail(db, actor.org_id, entity)


@router.get("/crm/entities", response_model=EntityPage)
def list_entities(
    actor: ApiActor,
    db: DbSession,
    stage: Annotated[str | None, Query(max_length=40)] = None,
    ref: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> EntityPage:
    if stage is not None and stage not in service.load_model(db, actor.org_id):
        raise InvalidInput(f"unknown stage {stage!r}")
    if ref is not None and "\x00" in ref:
        raise InvalidInput("ref contains a NUL character")
    rows = manage.list_entities(
        db, actor.org_id, stage=stage, ref=ref, limit=limit + 1, offset=offset
    )
    return EntityPage(
        items=[
            EntityOut(**_entity_fields(r.entity), stage=r.stage, stage_since=r.stage_since)
            for r in rows[:limit]
        ],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if len(rows) > limit else None,
    )


@router.get("/crm/entities/{entity_id}", response_model=EntityDetail)
def get_entity(entity_id: uuid.UUID, actor: ApiActor, db: DbSession) -> EntityDetail:
    return _detail(db, actor.org_id, service.get_entity(db, actor.org_id, entity_id))


@router.patch("/crm/entities/{entity_id}", response_model=EntityDetail)
def update_entity(
    entity_id: uuid.UUID, body: EntityUpdate, actor: MemberActor, db: DbSession
) -> EntityDetail:
    entity = service.get_entity(db, actor.org_id, entity_id)
    sent = body.model_fields_set
    changes: dict[str, Any] = {name: getattr(body, name) for name in sent if name != "segments"}
    segments = None
    if "segments" in sent:
        given = body.segments
        segments = (
            dict.fromkeys(manage.SEGMENTS)  # null clears every segment
            if given is None
            else {name: getattr(given, name) for name in given.model_fields_set}
        )
    manage.update_entity(db, entity, segments=segments, **changes)
    return _detail(db, actor.org_id, entity)


@router.post(
    "/crm/entities/{entity_id}/transitions",
    response_model=TransitionOut,
    status_code=status.HTTP_201_CREATED,
)
def move_entity(
    entity_id: uuid.UUID, body: TransitionCreate, actor: MemberActor, db: DbSession
) -> TransitionOut:
    service.get_entity(db, actor.org_id, entity_id)
    manage.check_campaign(db, actor.org_id, body.campaign_id)
    model = service.load_model(db, actor.org_id)
    expected: dict[str, Any] = {}
    if "from_stage" in body.model_fields_set:
        expected["expected_from"] = body.from_stage
    transition = service.move(
        db,
        actor.org_id,
        entity_id,
        body.to_stage,
        actor=actor_label(actor),
        source="api",
        at=body.at,
        reason=body.reason,
        amount=body.amount,
        campaign_id=body.campaign_id,
        model=model,
        **expected,
    )
    return TransitionOut(**_transition_out(model, transition))


# --- transitions -------------------------------------------------------------------------


@router.get("/crm/transitions", response_model=TransitionPage)
def export_transitions(
    actor: ApiActor,
    db: DbSession,
    since: Moment | None = None,
    until: Moment | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> TransitionPage:
    """The organization's transitions with ``since <= at < until``, oldest first."""
    after = manage.decode_cursor(cursor) if cursor else None
    model = service.load_model(db, actor.org_id)
    rows = manage.export_transitions(
        db, actor.org_id, since=since, until=until, after=after, limit=limit + 1
    )
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1][0]
        next_cursor = manage.encode_cursor(last.at, last.id)
    return TransitionPage(
        items=[ExportedTransition(**_transition_out(model, t), entity_ref=ref) for t, ref in page],
        next_cursor=next_cursor,
    )


@router.get("/crm/transitions.csv", response_class=Response)
def export_transitions_csv(
    actor: ApiActor,
    db: DbSession,
    since: Moment | None = None,
    until: Moment | None = None,
) -> Response:
    """The transitions as the CSV the import reads (``entity_id,from_stage,to_stage,at,amount``,
    UTF-8 with BOM): an export imports into another organization as the same history."""
    text, _count = manage.transitions_csv(db, actor.org_id, since=since, until=until)
    return Response(
        content=text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="transitions.csv"'},
    )


@router.post(
    "/crm/transitions/import",
    status_code=status.HTTP_201_CREATED,
    response_model=TransitionImportOut,
    openapi_extra=CSV_BODY,
    responses={413: {"description": "file too large"}, 422: {"description": "row errors"}},
)
async def import_history(
    request: Request,
    actor: MemberActor,
    db: DbSession,
    encoding: Annotated[
        str | None, Query(description="auto, utf-8 or cp932 (default: charset, else auto)")
    ] = None,
) -> TransitionImportOut:
    """Transitions from a CSV ``entity_id,from_stage,to_stage,at,amount``: every row, or none."""
    data, charset = await read_csv(request)
    settings: Settings = request.app.state.settings
    result = await run_in_threadpool(
        lambda: import_transitions(
            db,
            actor.org_id,
            data,
            actor=actor_label(actor),
            encoding=encoding or charset,
            max_bytes=settings.max_body_bytes,
        )
    )
    return TransitionImportOut(
        imported=result.imported,
        created_entities=result.created_entities,
        encoding=result.encoding,
    )


# --- the stage model and targets ---------------------------------------------------------


@router.get("/crm/stages", response_model=StageModelOut)
def get_stages(actor: ApiActor, db: DbSession) -> StageModelOut:
    return StageModelOut.model_validate(manage.model_as_data(service.load_model(db, actor.org_id)))


@router.put("/crm/stages", response_model=StageModelOut)
def put_stages(body: StageModelIn, actor: AdminActor, db: DbSession) -> StageModelOut:
    stages = [
        Stage(
            key=s.key,
            department=s.department,
            label_ja=s.label_ja,
            label_en=s.label_en,
            position=s.position,
            role=s.role,
            terminal=s.terminal,
            criterion_ja=s.criterion_ja,
            criterion_en=s.criterion_en,
            auto_on=tuple(k.strip() for k in s.auto_on if k.strip()),
        )
        for s in body.stages
    ]
    moves = None if body.moves is None else [(m.from_stage, m.to_stage) for m in body.moves]
    model = manage.replace_model(db, actor.org_id, stages, moves)
    return StageModelOut.model_validate(manage.model_as_data(model))


def _targets_out(targets: dict[tuple[str, str], float]) -> Targets:
    return Targets(
        targets=[Target(from_stage=a, to_stage=b, rate=r) for (a, b), r in targets.items()]
    )


@router.get("/crm/targets", response_model=Targets)
def get_targets(actor: ApiActor, db: DbSession) -> Targets:
    return _targets_out(manage.load_targets(db, actor.org_id))


@router.put("/crm/targets", response_model=Targets)
def put_targets(body: Targets, actor: AdminActor, db: DbSession) -> Targets:
    saved = manage.save_targets(
        db, actor.org_id, [(t.from_stage, t.to_stage, t.rate) for t in body.targets]
    )
    return _targets_out(saved)
