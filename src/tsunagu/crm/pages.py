"""The pipeline pages of the staff console (THE MODEL), Japanese and English.

- ``/crm`` — the board: a column per stage (the main line in order, then the side stages
  ``lost``, ``recycle``, ``dead_end``, ``churned``) with how many entities are in it and
  the cards of the most recently moved ones; filters by owner, segment and name;
- ``/crm/entities/new`` — the form that creates an entity and puts it in its first stage;
- ``/crm/entities/{id}`` — one entity: segments, amount, current stage, the timeline of
  every transition (fast passes marked) and the move form (only the moves the stage model
  allows from the current stage; a move to ``lost`` needs a reason; the hidden
  ``from_stage`` makes a move from a stale page fail instead of landing);
- ``/crm/stages`` — the stage model: stages by department, entry criteria, allowed moves;
- ``/crm/metrics``, ``/crm/funnel``, ``/crm/win-rates``, ``/crm/customer-success`` — the
  metrics report of ``crm.metrics`` as charts (Apache ECharts, served locally and drawn by
  ``/static/crm-charts.js`` from JSON in the page: the CSP allows no inline script), each
  with the same numbers in a table.

Every page is for signed-in staff and shows only their own organization's data (another
organization's entity is a 404, exactly like one that does not exist).  Moving and
creating need the member role and the form's CSRF token.  The pages are thin: the use
cases are ``crm.service`` and ``crm.metrics``; ``crm.page_charts`` lays out the charts.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pyarrow as pa
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from tsunagu.core.clock import utcnow
from tsunagu.core.errors import AppError, InvalidInput
from tsunagu.core.http import db_session
from tsunagu.core.i18n import gettext_noop
from tsunagu.core.templating import request_locale
from tsunagu.crm import activities, metrics, service
from tsunagu.crm import page_charts as charts
from tsunagu.crm.errors import (
    EntityRefTaken,
    InvalidTransition,
    ReasonRequired,
    StaleStage,
    UnknownStage,
)
from tsunagu.crm.models import CrmEntity
from tsunagu.crm.stages import DEPARTMENTS, StageModel
from tsunagu.identity import service as identity_service
from tsunagu.identity.web_auth import (
    StaffPage,
    csrf_protect,
    page_staff,
    redirect,
    render_page,
)

router = APIRouter(include_in_schema=False)

BOARD = "/crm"
ENTITIES = "/crm/entities"
NEW_ENTITY = "/crm/entities/new"
STAGES = "/crm/stages"

#: how many cards each column of the board shows (the most recently moved first)
CARDS_PER_STAGE = 8
#: how many of an entity's latest activities its page lists
ACTIVITIES_SHOWN = 50
#: above this many card candidates (ties on time) the board ranks every entity instead
MAX_CANDIDATES = 2000
#: the segments an entity carries, which the board and the win rates filter by
SEGMENTS = ("industry", "size", "channel", "region")
SEGMENT_LABELS = {
    "industry": gettext_noop("Industry"),
    "size": gettext_noop("Size"),
    "channel": gettext_noop("Channel"),
    "region": gettext_noop("Region"),
    "owner": gettext_noop("Owner"),
}
DEPARTMENT_LABELS = {
    "marketing": gettext_noop("Marketing"),
    "inside_sales": gettext_noop("Inside sales"),
    "field_sales": gettext_noop("Field sales"),
    "customer_success": gettext_noop("Customer success"),
}
#: what a move is, for the badges of the timeline and the move form
MOVE_KIND_LABELS = {
    "first": gettext_noop("First stage"),
    "forward": gettext_noop("Forward"),
    "fast_pass": gettext_noop("Fast pass"),
    "recycle": gettext_noop("Recycle"),
    "return": gettext_noop("Return"),
    "dead_end": gettext_noop("Dead end"),
    "lost": gettext_noop("Lost"),
    "churned": gettext_noop("Churned"),
    "next_term": gettext_noop("Next term"),
    "back": gettext_noop("Back"),
}
#: why a move form was refused, as the page explains it
MOVE_ERRORS = {
    "reason": gettext_noop("A move to lost needs a reason: why was the deal lost?"),
    "stale": gettext_noop(
        "Someone moved this entity while you were looking. Here is where it is now; "
        "choose the move again."
    ),
    "invalid": gettext_noop("The stage model does not allow this move from the current stage."),
    "amount": gettext_noop("The amount is a whole number of yen, zero or more."),
    "date": gettext_noop("A date is written YYYY-MM-DD."),
}
CREATE_ERRORS = {
    "required": gettext_noop("An entity needs a reference and a name."),
    "taken": gettext_noop("This reference is taken by another entity."),
    "amount": gettext_noop("The amount is a whole number of yen, zero or more."),
    "date": gettext_noop("A date is written YYYY-MM-DD."),
    "stage": gettext_noop("An entity cannot start in this stage."),
    "owner": gettext_noop("The owner must be a staff member of your organization."),
    "reason": gettext_noop("An entity that starts in lost needs a reason."),
}


# --- views the templates read ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActivityRow:
    """One activity on the entity page (``moved``: an automatic rule moved the entity)."""

    at: datetime
    kind: str
    label: str
    note: str
    moved: bool


@dataclass(frozen=True, slots=True)
class StageView:
    key: str
    label: str
    department: str
    position: int | None
    role: str | None
    terminal: bool
    criterion: str


@dataclass(frozen=True, slots=True)
class Card:
    id: uuid.UUID
    ref: str
    name: str
    amount: int | None
    owner: str | None
    days: int


@dataclass(frozen=True, slots=True)
class Column:
    stage: StageView
    count: int
    cards: list[Card]


@dataclass(frozen=True, slots=True)
class Step:
    """One transition of an entity's timeline."""

    seq: int
    from_label: str | None
    to_label: str
    to_stage: str
    at: datetime
    actor: str
    reason: str
    amount: int | None
    kind: str
    fast_pass: bool
    #: the move hands the entity to another department (rated on /crm/handoffs)
    handoff: bool
    campaign_id: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class MoveOption:
    key: str
    label: str
    kind: str


@dataclass(frozen=True, slots=True)
class Filters:
    """The board's filters as they came in the query string (blank means no filter)."""

    owner: str = ""
    industry: str = ""
    size: str = ""
    channel: str = ""
    region: str = ""
    q: str = ""

    @property
    def active(self) -> bool:
        return any((self.owner, self.industry, self.size, self.channel, self.region, self.q))

    def segment(self, name: str) -> str:
        return str(getattr(self, name))


# --- helpers ---------------------------------------------------------------------------


def stage_views(model: StageModel, locale: str) -> list[StageView]:
    """The stages in board order: the main line, then the side stages as the model lists
    them (``lost``, ``churned``, ``recycle``, ``dead_end`` in the default)."""
    main = [model.stage(k) for k in model.main_line]
    side = [s for s in model.stages if s.position is None]
    return [
        StageView(
            key=s.key,
            label=s.label(locale),
            department=s.department,
            position=s.position,
            role=s.role,
            terminal=s.terminal,
            criterion=s.criterion_ja if locale == "ja" else s.criterion_en,
        )
        for s in [*main, *side]
    ]


def move_kind(model: StageModel, from_stage: str | None, to_stage: str) -> str:
    """What a move is: forward, fast pass, recycle, return, dead end, lost, churned …"""
    if to_stage not in model:
        return "forward"
    if from_stage is None:
        return "fast_pass" if model.is_fast_pass(None, to_stage) else "first"
    role = model.stage(to_stage).role
    if role in ("recycle", "dead_end", "lost", "churned"):
        return str(role)
    if from_stage in model and model.stage(from_stage).role == "recycle":
        return "return"
    if model.is_fast_pass(from_stage, to_stage):
        return "fast_pass"
    a = model.position(from_stage) if from_stage in model else None
    b = model.position(to_stage)
    if a is not None and b is not None and b < a:
        return "next_term" if model.stage(from_stage).role == "renewal" else "back"
    return "forward"


def _zone(page: StaffPage) -> ZoneInfo:
    try:
        return ZoneInfo(page.organization.timezone or "Asia/Tokyo")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Asia/Tokyo")


def _can_write(page: StaffPage) -> bool:
    return page.membership.role in ("owner", "admin", "member")


def _staff_names(db: Session, organization_id: uuid.UUID) -> dict[uuid.UUID, str]:
    """The organization's staff by id (the owner filter and the owners on cards)."""
    return identity_service.staff_names(db, organization_id)


def _actor_label(actor: str, staff: dict[uuid.UUID, str]) -> str:
    kind, _, rest = actor.partition(":")
    if kind == "user":
        try:
            return staff.get(uuid.UUID(rest), actor)
        except ValueError:
            return actor
    return actor


#: the segment values of recent organizations, keyed on (database, organization) and
#: checked against the count and latest ``updated_at`` of the organization's entities
_SEGMENT_CACHE_SIZE = 16
_SegmentEntry = tuple[tuple[Any, ...], dict[str, list[str]]]
_segment_cache: OrderedDict[tuple[str, uuid.UUID], _SegmentEntry] = OrderedDict()
_segment_lock = threading.Lock()


def _segment_values(db: Session, organization_id: uuid.UUID) -> dict[str, list[str]]:
    """The values each segment takes among the organization's entities (for the filters).

    Four ``DISTINCT`` scans of the entities cost tens of milliseconds each on a large
    organization, so the answer is kept per organization while the count and the latest
    ``updated_at`` of its entities (one index-only query) stay the same.
    """
    fingerprint = tuple(
        db.execute(
            select(func.count(), func.max(CrmEntity.updated_at)).where(
                CrmEntity.organization_id == organization_id
            )
        ).one()
    )
    key = (str(db.get_bind().engine.url), organization_id)
    with _segment_lock:
        hit = _segment_cache.get(key)
        if hit is not None and hit[0] == fingerprint:
            _segment_cache.move_to_end(key)
            return {name: list(v) for name, v in hit[1].items()}
    values = _distinct_segment_values(db, organization_id)
    with _segment_lock:
        _segment_cache[key] = (fingerprint, values)
        _segment_cache.move_to_end(key)
        while len(_segment_cache) > _SEGMENT_CACHE_SIZE:
            _segment_cache.popitem(last=False)
    return {name: list(v) for name, v in values.items()}


def _distinct_segment_values(db: Session, organization_id: uuid.UUID) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for name in SEGMENTS:
        column = getattr(CrmEntity, name)
        values[name] = [
            v
            for v in db.scalars(
                select(column)
                .where(CrmEntity.organization_id == organization_id, column.is_not(None))
                .distinct()
                .order_by(column)
            )
            if v
        ]
    return values


def _parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        return None


def _entity_conditions(organization_id: uuid.UUID, filters: Filters) -> list[Any]:
    conditions: list[Any] = [CrmEntity.organization_id == organization_id]
    owner = _parse_uuid(filters.owner) if filters.owner else None
    if filters.owner == "none":
        conditions.append(CrmEntity.owner_user_id.is_(None))
    elif owner is not None:
        conditions.append(CrmEntity.owner_user_id == owner)
    for name in SEGMENTS:
        value = filters.segment(name)
        if value:
            conditions.append(getattr(CrmEntity, name) == value)
    if filters.q.strip():
        needle = f"%{filters.q.strip().lower()}%"
        conditions.append(
            func.lower(CrmEntity.name).like(needle) | func.lower(CrmEntity.ref).like(needle)
        )
    return conditions


def board_columns(
    db: Session,
    organization_id: uuid.UUID,
    model: StageModel,
    locale: str,
    filters: Filters,
    staff: dict[uuid.UUID, str],
) -> list[Column]:
    """Each stage's count and its most recently moved entities.

    Unfiltered, the counts and the *candidates* for the cards (in each stage, the entities
    whose last move is at least as recent as the stage's eighth most recent: the true eight,
    ties on time included) come from the metrics' cached events when they are current, else
    from one query; the cards are then ranked exactly (time, then reference) among the
    candidates alone.  Filtered, one query counts and another ranks, over the filtered
    entities.
    """
    candidates: list[uuid.UUID] | None = None
    if filters.active:
        here = service.current_stages_query(organization_id).subquery()
        counts = {
            stage: int(n)
            for stage, n in db.execute(
                select(here.c.stage, func.count())
                .join(CrmEntity, CrmEntity.id == here.c.entity_id)
                .where(*_entity_conditions(organization_id, filters))
                .group_by(here.c.stage)
            ).all()
        }
    else:
        counts, candidates = _board_candidates(db, organization_id)
        if len(candidates) > MAX_CANDIDATES:  # a great many ties on time: rank them all
            candidates = None
    here = service.current_stages_query(organization_id, entity_ids=candidates).subquery()
    conditions = _entity_conditions(organization_id, filters)
    if candidates is not None:
        conditions.append(CrmEntity.id.in_(candidates))
    ranked = (
        select(
            here.c.stage,
            here.c.at,
            CrmEntity.id,
            CrmEntity.ref,
            CrmEntity.name,
            CrmEntity.amount,
            CrmEntity.owner_user_id,
            func.row_number()
            .over(partition_by=here.c.stage, order_by=(here.c.at.desc(), CrmEntity.ref))
            .label("rank"),
        )
        .join(CrmEntity, CrmEntity.id == here.c.entity_id)
        .where(*conditions)
        .subquery()
    )
    rows = db.execute(
        select(ranked).where(ranked.c.rank <= CARDS_PER_STAGE).order_by(ranked.c.rank)
    ).all()
    now = utcnow()
    cards: dict[str, list[Card]] = {}
    for row in rows:
        cards.setdefault(row.stage, []).append(
            Card(
                id=row.id,
                ref=row.ref,
                name=row.name,
                amount=row.amount,
                owner=staff.get(row.owner_user_id) if row.owner_user_id else None,
                days=max((now - row.at).days, 0),
            )
        )
    return [
        Column(stage=s, count=counts.get(s.key, 0), cards=cards.get(s.key, []))
        for s in stage_views(model, locale)
    ]


def _board_candidates(
    db: Session, organization_id: uuid.UUID
) -> tuple[dict[str, int], list[uuid.UUID]]:
    """How many entities each stage holds, and the entities that may show as its cards."""
    cached = metrics.cached_events(db, organization_id)
    if cached is not None:
        return _candidates_from_events(*cached)
    here = service.current_stages_query(organization_id).subquery()
    by_time = select(
        here.c.entity_id,
        here.c.stage,
        func.rank().over(partition_by=here.c.stage, order_by=here.c.at.desc()).label("rank"),
        func.count().over(partition_by=here.c.stage).label("n"),
    ).subquery()
    rows = db.execute(
        select(by_time.c.entity_id, by_time.c.stage, by_time.c.n).where(
            by_time.c.rank <= CARDS_PER_STAGE
        )
    ).all()
    return {row.stage: int(row.n) for row in rows}, [row.entity_id for row in rows]


def _candidates_from_events(
    events: metrics.Events, entity_ids: Any
) -> tuple[dict[str, int], list[uuid.UUID]]:
    """The same from the metrics' events: the last row of each entity (rows are in
    (entity, seq) order) is its current stage; per stage, the rows at or after its eighth
    most recent time (vectorised; the loop steps over the stages)."""
    t = events.transitions
    if t.num_rows == 0:
        return {}, []
    entity = t.column("entity").to_numpy()
    last = np.ones(len(entity), dtype=bool)
    last[:-1] = entity[1:] != entity[:-1]
    current = entity[last]
    stage = t.column("to_stage").to_numpy()[last]
    at = t.column("at").cast(pa.int64()).to_numpy()[last]
    counts = np.bincount(stage, minlength=len(events.stages))
    chosen: list[np.ndarray] = []
    for code in np.flatnonzero(counts):
        here = stage == code
        times = at[here]
        if len(times) > CARDS_PER_STAGE:
            cut = np.partition(times, -CARDS_PER_STAGE)[-CARDS_PER_STAGE]
            chosen.append(current[here][times >= cut])
        else:
            chosen.append(current[here])
    rows = np.concatenate(chosen) if chosen else np.empty(0, dtype=np.int64)
    ids = entity_ids.take(pa.array(rows, pa.int64())).to_pylist()
    return (
        {events.stages[code]: int(counts[code]) for code in np.flatnonzero(counts)},
        [uuid.UUID(value) for value in ids],
    )


def _optional_int(value: str) -> int | None:
    text = value.strip().replace(",", "")
    if not text:
        return None
    number = int(text)
    if number < 0:
        raise ValueError("negative")
    return number


def _optional_date(value: str) -> date | None:
    text = value.strip()
    return date.fromisoformat(text) if text else None


def _attempt(db: Session, action: Callable[[], Any]) -> AppError | None:
    """Run ``action`` in a savepoint: on an ``AppError`` nothing it wrote remains and the
    error is returned for the page to explain."""
    try:
        with db.begin_nested():
            action()
    except AppError as exc:
        return exc
    return None


# --- the board -------------------------------------------------------------------------


@router.get(BOARD)
def board(
    request: Request,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
    owner: str = "",
    industry: str = "",
    size: str = "",
    channel: str = "",
    region: str = "",
    q: str = "",
) -> HTMLResponse:
    locale = request_locale(request)
    org_id = page.organization.id
    model = service.load_model(db, org_id)
    staff = _staff_names(db, org_id)
    filters = Filters(owner, industry, size, channel, region, q)
    columns = board_columns(db, org_id, model, locale, filters, staff)
    context = {
        "columns": [c for c in columns if c.stage.position is not None],
        "side_columns": [c for c in columns if c.stage.position is None],
        "total": sum(c.count for c in columns),
        "filters": filters,
        "staff": staff,
        "segments": SEGMENTS,
        "segment_labels": SEGMENT_LABELS,
        "segment_values": _segment_values(db, org_id),
        "department_labels": DEPARTMENT_LABELS,
        "cards_per_stage": CARDS_PER_STAGE,
        "can_write": _can_write(page),
    }
    return render_page(request, "crm/board.html", context)


# --- creating an entity ----------------------------------------------------------------


def _new_entity_page(
    request: Request,
    db: Session,
    page: StaffPage,
    *,
    form: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    locale = request_locale(request)
    model = service.load_model(db, page.organization.id)
    starts = [s for s in stage_views(model, locale) if model.allows(None, s.key)]
    context = {
        "form": form or {"stage": model.main_line[0]},
        "error": error,
        "create_errors": CREATE_ERRORS,
        "stages": starts,
        "fast_pass": {s.key for s in starts if model.is_fast_pass(None, s.key)},
        "staff": _staff_names(db, page.organization.id),
        "segments": SEGMENTS,
        "segment_labels": SEGMENT_LABELS,
        "can_write": _can_write(page),
    }
    return render_page(request, "crm/entity_new.html", context, status_code=status_code)


@router.get(NEW_ENTITY)
def new_entity(
    request: Request,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
) -> HTMLResponse:
    return _new_entity_page(request, db, page)


@router.post(ENTITIES)
def create_entity(
    request: Request,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    ref: str = Form(default=""),
    name: str = Form(default=""),
    industry: str = Form(default=""),
    size: str = Form(default=""),
    channel: str = Form(default=""),
    region: str = Form(default=""),
    amount: str = Form(default=""),
    close_date: str = Form(default=""),
    owner: str = Form(default=""),
    stage: str = Form(default=""),
    reason: str = Form(default=""),
) -> Response:
    page.actor.require_role("member")
    org_id = page.organization.id
    form = {
        "ref": ref.strip(),
        "name": name.strip(),
        "industry": industry.strip(),
        "size": size.strip(),
        "channel": channel.strip(),
        "region": region.strip(),
        "amount": amount.strip(),
        "close_date": close_date.strip(),
        "owner": owner.strip(),
        "stage": stage.strip(),
        "reason": reason.strip(),
    }

    def refuse(error: str, status_code: int = 422) -> HTMLResponse:
        return _new_entity_page(request, db, page, form=form, error=error, status_code=status_code)

    if not form["ref"] or not form["name"]:
        return refuse("required")
    try:
        amount_value = _optional_int(form["amount"])
    except ValueError:
        return refuse("amount")
    try:
        close = _optional_date(form["close_date"])
    except ValueError:
        return refuse("date")
    owner_id = _parse_uuid(form["owner"]) if form["owner"] else None
    if form["owner"] and owner_id not in _staff_names(db, org_id):
        return refuse("owner")
    model = service.load_model(db, org_id)
    if form["stage"] and not model.allows(None, form["stage"]):
        return refuse("stage")
    created: list[CrmEntity] = []

    def create() -> None:
        entity = service.create_entity(
            db,
            org_id,
            ref=form["ref"],
            name=form["name"],
            owner_user_id=owner_id,
            industry=form["industry"] or None,
            size=form["size"] or None,
            channel=form["channel"] or None,
            region=form["region"] or None,
            amount=amount_value,
            close_date=close,
        )
        if form["stage"]:
            service.move(
                db,
                org_id,
                entity.id,
                form["stage"],
                actor=f"user:{page.user.id}",
                source="ui",
                reason=form["reason"],
                model=model,
            )
        created.append(entity)

    failure = _attempt(db, create)
    if isinstance(failure, EntityRefTaken):
        return refuse("taken", 409)
    if isinstance(failure, ReasonRequired):
        return refuse("reason")
    if isinstance(failure, InvalidTransition | UnknownStage):
        return refuse("stage")
    if failure is not None:
        raise failure
    return redirect(f"{ENTITIES}/{created[0].id}?created=1")


# --- one entity ------------------------------------------------------------------------


def _entity_page(
    request: Request,
    db: Session,
    page: StaffPage,
    entity_id: uuid.UUID,
    *,
    error: str | None = None,
    form: dict[str, str] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    locale = request_locale(request)
    org_id = page.organization.id
    entity = service.get_entity(db, org_id, entity_id)
    model = service.load_model(db, org_id)
    labels = {s.key: s.label(locale) for s in model.stages}
    staff = _staff_names(db, org_id)
    transitions = service.history(db, org_id, entity_id)
    steps = [
        Step(
            seq=t.seq,
            from_label=labels.get(t.from_stage, t.from_stage) if t.from_stage else None,
            to_label=labels.get(t.to_stage, t.to_stage),
            to_stage=t.to_stage,
            at=t.at,
            actor=_actor_label(t.actor, staff),
            reason=t.reason,
            amount=t.amount,
            kind=move_kind(model, t.from_stage, t.to_stage),
            fast_pass=model.is_fast_pass(t.from_stage, t.to_stage),
            handoff=model.handoff(t.from_stage, t.to_stage) is not None,
            campaign_id=t.campaign_id,
        )
        for t in transitions
    ]
    here = service.current(db, entity_id)
    stage_key = here.stage if here else None
    options = [
        MoveOption(s.key, s.label, move_kind(model, stage_key, s.key))
        for s in stage_views(model, locale)
        if model.allows(stage_key, s.key)
    ]
    stage = next((s for s in stage_views(model, locale) if s.key == stage_key), None)
    context = {
        "entity": entity,
        "stage": stage,
        "since": here.at if here else None,
        "days": max((utcnow() - here.at).days, 0) if here else None,
        "owner": staff.get(entity.owner_user_id) if entity.owner_user_id else None,
        "steps": list(reversed(steps)),
        "options": options,
        "lost_key": model.by_role("lost"),
        "kind_labels": MOVE_KIND_LABELS,
        "segments": SEGMENTS,
        "segment_labels": SEGMENT_LABELS,
        "department_labels": DEPARTMENT_LABELS,
        "error": error,
        "move_errors": MOVE_ERRORS,
        "form": form or {},
        "notice": notice,
        "can_write": _can_write(page),
        "activities": [
            ActivityRow(
                at=a.at,
                kind=a.kind,
                label=activities.kind_label(a.kind, locale),
                note=a.note,
                moved=a.transition_id is not None,
            )
            for a in activities.activities_of(db, org_id, entity_id, limit=ACTIVITIES_SHOWN)
        ],
    }
    return render_page(request, "crm/entity.html", context, status_code=status_code)


@router.get(ENTITIES + "/{entity_id}")
def entity_detail(
    request: Request,
    entity_id: uuid.UUID,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
    moved: str | None = None,
    created: str | None = None,
) -> HTMLResponse:
    notice = "moved" if moved else "created" if created else None
    return _entity_page(request, db, page, entity_id, notice=notice)


@router.post(ENTITIES + "/{entity_id}/move")
def move_entity(
    request: Request,
    entity_id: uuid.UUID,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    to_stage: str = Form(default=""),
    from_stage: str = Form(default=""),
    reason: str = Form(default=""),
    amount: str = Form(default=""),
) -> Response:
    page.actor.require_role("member")
    org_id = page.organization.id
    service.get_entity(db, org_id, entity_id)  # another organization's: 404 before anything
    form = {"to_stage": to_stage, "reason": reason, "amount": amount}

    def refuse(error: str, status_code: int = 422) -> HTMLResponse:
        return _entity_page(
            request, db, page, entity_id, error=error, form=form, status_code=status_code
        )

    try:
        amount_value = _optional_int(amount)
    except ValueError:
        return refuse("amount")
    failure = _attempt(
        db,
        lambda: service.move(
            db,
            org_id,
            entity_id,
            to_stage.strip(),
            actor=f"user:{page.user.id}",
            source="ui",
            reason=reason,
            amount=amount_value,
            expected_from=from_stage.strip() or None,
        ),
    )
    if failure is None:
        return redirect(f"{ENTITIES}/{entity_id}?moved=1")
    if isinstance(failure, ReasonRequired):
        return refuse("reason")
    if isinstance(failure, StaleStage):
        return refuse("stale", 409)
    if isinstance(failure, InvalidTransition | UnknownStage):
        return refuse("invalid")
    if isinstance(failure, InvalidInput):
        return refuse("amount")
    raise failure


# --- the stage model -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DepartmentView:
    key: str
    stages: list[StageView]


@router.get(STAGES)
def stages(
    request: Request,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
) -> HTMLResponse:
    locale = request_locale(request)
    model = service.load_model(db, page.organization.id)
    views = stage_views(model, locale)
    labels = {s.key: s.label for s in views}
    departments = [DepartmentView(d, [s for s in views if s.department == d]) for d in DEPARTMENTS]
    moves: dict[str, list[tuple[str, str]]] = {
        s.key: [
            (labels[t.key], move_kind(model, s.key, t.key))
            for t in views
            if model.allows(s.key, t.key)
        ]
        for s in views
    }
    context = {
        "departments": [d for d in departments if d.stages],
        "department_labels": DEPARTMENT_LABELS,
        "moves": moves,
        "kind_labels": MOVE_KIND_LABELS,
        "first_stages": [labels[s.key] for s in views if model.allows(None, s.key)],
    }
    return render_page(request, "crm/stages.html", context)


# --- metrics ---------------------------------------------------------------------------

METRICS = "/crm/metrics"
FUNNEL = "/crm/funnel"
WIN_RATES = "/crm/win-rates"
CUSTOMER_SUCCESS = "/crm/customer-success"
METRIC_SEGMENTS = (*SEGMENTS, "owner")
#: how many of the sudden changes the page lists (the most recent first)
SHOWN_FLAGS = 20
PERIOD_LABELS = {"week": gettext_noop("Weeks"), "month": gettext_noop("Months")}
RANGE_ERRORS = {
    "date": gettext_noop("A date is written YYYY-MM-DD. The last 26 weeks are shown instead."),
    "range": gettext_noop(
        "The first day must come before the last, and a range spans at most about five "
        "years. The last 26 weeks are shown instead."
    ),
}


def default_range(today: date) -> tuple[date, date]:
    """The 26 weeks up to and including ``today``: [end − 26 weeks, end), end = today + 1."""
    end = today + timedelta(days=1)
    return end - timedelta(weeks=26), end


@dataclass(frozen=True, slots=True)
class MetricsForm:
    """The range and filters of a metrics page, as the form shows them."""

    first: str
    last: str
    period: str
    segment: dict[str, str]

    def query_string(self, **extra: str) -> str:
        values = {"start": self.first, "last": self.last, "period": self.period}
        values.update({k: v for k, v in self.segment.items() if v})
        values.update(extra)
        return urlencode(values)


def _owner_value(db: Session, organization_id: uuid.UUID, owner: str) -> str | None:
    """The owner as the metrics' events spell it (the database's text form of the id)."""
    owner_id = _parse_uuid(owner)
    if owner_id is None:
        return None
    return db.scalar(
        select(cast(CrmEntity.owner_user_id, String))
        .where(CrmEntity.organization_id == organization_id, CrmEntity.owner_user_id == owner_id)
        .limit(1)
    )


def _metrics_report(
    db: Session, page: StaffPage, params: Mapping[str, str]
) -> tuple[dict[str, Any], MetricsForm, str | None]:
    """The report for the page's query string (the last 26 weeks when it says nothing)."""
    zone = _zone(page)
    today = utcnow().astimezone(zone).date()
    start, end = default_range(today)
    error: str | None = None
    try:
        if params.get("start"):
            start = date.fromisoformat(params["start"].strip())
        if params.get("last"):
            end = date.fromisoformat(params["last"].strip()) + timedelta(days=1)
    except (ValueError, OverflowError):
        start, end = default_range(today)
        error = "date"
    period: Literal["week", "month"] = "month" if params.get("period") == "month" else "week"
    shown = {k: params.get(k, "").strip() for k in METRIC_SEGMENTS}
    segment = {k: v for k, v in shown.items() if v and k != "owner"}
    if shown["owner"]:
        owner = _owner_value(db, page.organization.id, shown["owner"])
        segment["owner"] = owner if owner is not None else shown["owner"]
    query = metrics.MetricsQuery(
        start=start,
        end=end,
        period=period,
        timezone=str(zone),
        segment=segment or None,
    )
    try:
        query.validate()
    except InvalidInput:
        start, end = default_range(today)
        query = metrics.MetricsQuery(start=start, end=end, period=period, timezone=str(zone))
        error = "range"
    report = metrics.report(db, page.organization.id, query)
    form = MetricsForm(
        first=query.start.isoformat(),
        last=(query.end - timedelta(days=1)).isoformat(),
        period=period,
        segment=shown,
    )
    return report, form, error


def _metrics_context(
    request: Request, db: Session, page: StaffPage
) -> tuple[dict[str, Any], str, StageModel]:
    locale = request_locale(request)
    params = dict(request.query_params)
    report, form, error = _metrics_report(db, page, params)
    model = service.load_model(db, page.organization.id)
    staff = _staff_names(db, page.organization.id)
    context: dict[str, Any] = {
        "report": report,
        "form": form,
        "range_error": error,
        "range_errors": RANGE_ERRORS,
        "period_labels": PERIOD_LABELS,
        "labels": charts.stage_labels(report, locale),
        "stage_order": [s.key for s in stage_views(model, locale)],
        "segments": METRIC_SEGMENTS,
        "segment_labels": SEGMENT_LABELS,
        "segment_values": _segment_values(db, page.organization.id),
        "staff": staff,
    }
    return context, locale, model


def owner_name(value: str, staff: Mapping[uuid.UUID, str]) -> str:
    """An owner as the metrics spell it (with or without dashes) → the staff's name."""
    owner_id = _parse_uuid(value) if value else None
    if owner_id is None:
        return value
    return staff.get(owner_id, value)


@router.get(METRICS)
def metrics_page(
    request: Request,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
) -> HTMLResponse:
    context, locale, model = _metrics_context(request, db, page)
    report = context["report"]
    labels = context["labels"]
    flags = [
        {
            "name": charts.metric_name(f["metric"], labels, locale),
            "rate": charts.is_rate(f["metric"]),
            **f,
        }
        for f in report["trend"]["flags"]
    ]
    context.update(
        {
            "charts": {
                "balance": charts.balance_chart(report, locale),
                "flow": charts.flow_chart(report, locale),
                "sankey": charts.sankey_chart(report, model, locale),
            },
            "flags": sorted(flags, key=lambda f: (f["start"], f["name"]), reverse=True)[
                :SHOWN_FLAGS
            ],
            "flag_count": len(flags),
            "kind_labels": MOVE_KIND_LABELS,
            "bottleneck": report["bottleneck"],
            "why": (report["bottleneck"] or {}).get("why_ja" if locale == "ja" else "why_en"),
        }
    )
    return render_page(request, "crm/metrics.html", context)


@router.get(FUNNEL)
def funnel_page(
    request: Request,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
) -> HTMLResponse:
    context, locale, _model = _metrics_context(request, db, page)
    report = context["report"]
    context["charts"] = {
        "funnel": charts.funnel_chart(report, locale),
        "conversion": charts.conversion_chart(report, locale),
        "time_in_stage": charts.time_in_stage_chart(report, locale),
        "ageing": charts.ageing_chart(report, locale),
    }
    return render_page(request, "crm/funnel.html", context)


@router.get(WIN_RATES)
def win_rates_page(
    request: Request,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
    by: str = "industry",
) -> HTMLResponse:
    context, locale, _model = _metrics_context(request, db, page)
    report = context["report"]
    by = by if by in METRIC_SEGMENTS else "industry"
    rows = report["win_rate"]["by_segment"].get(by, [])
    names = (
        {r["value"]: owner_name(r["value"], context["staff"]) for r in rows}
        if by == "owner"
        else {}
    )
    context.update(
        {
            "by": by,
            "by_rows": rows,
            "by_names": names,
            "charts": {
                "win_rate": charts.win_rate_chart(report, locale),
                "segment": charts.segment_chart(rows, names, locale),
            },
        }
    )
    return render_page(request, "crm/win_rates.html", context)


@router.get(CUSTOMER_SUCCESS)
def customer_success_page(
    request: Request,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
) -> HTMLResponse:
    context, locale, _model = _metrics_context(request, db, page)
    context["charts"] = {"health": charts.customer_success_chart(context["report"], locale)}
    return render_page(request, "crm/customer_success.html", context)


__all__: Sequence[str] = ["router"]
