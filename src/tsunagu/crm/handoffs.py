"""Handoff feedback: the receiving department rates what the giving department handed over.

A **handoff** is a transition that moves an entity forward along the main line *and* across
departments (``StageModel.handoff``): in THE MODEL marketing → inside sales
(``promising → qualified``), inside sales → field sales (``qualified → opportunity``),
field sales → customer success (``won → onboarding``), and every fast pass that crosses a
department (``nurturing → opportunity`` is handed from marketing to field sales).  An
entity's first event, moves out of side stages (a return from ``recycle``) and backward
moves are never handoffs.

The receiving department rates a handoff 1–5 with an optional comment
(``CrmHandoffRating``, one per transition).  The rating stays editable by whoever gave it
for ``EDIT_WINDOW`` (7 days from the first rating); after that, or for anyone else, it is
closed (``RatingClosed``, 409).  Department membership of staff is not modelled: any
member of the organization may rate, and ``rated_by`` says who did.

The reports (``report``) are computed in DuckDB over the organization's handoffs of a
range of local dates (calendar weeks starting Monday or months, in the organization's time
zone): per source (giving → receiving department and the giving stage), per actor who
moved the entity, per campaign (credited on the transition, or whose member was touched
strictly before the handoff), and per period — each with the count, how many are rated, the
average rating, the share of low ratings (≤ ``LOW_RATING``) among the rated, and the latest
comments.  This is the backward feedback loop between the departments.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import String, and_, cast, false, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from tsunagu.core.clock import utcnow
from tsunagu.core.errors import Conflict, InvalidInput
from tsunagu.crm.errors import TransitionNotFound
from tsunagu.crm.models import (
    CrmCampaign,
    CrmCampaignMember,
    CrmEntity,
    CrmHandoffRating,
    CrmTransition,
)
from tsunagu.crm.service import load_model, organization_timezone
from tsunagu.crm.stages import Department, StageModel

#: how long the rater may change a rating (from the first rating)
EDIT_WINDOW = timedelta(days=7)
#: ratings at or below this are "low"
LOW_RATING = 2
MAX_COMMENT = 2000
#: how many of the latest comments a report row carries
LATEST_COMMENTS = 3
#: at most this many handoffs in one list
MAX_LIST = 500

Period = Literal["week", "month"]
State = Literal["pending", "rated", "all"]


class NotAHandoff(InvalidInput):
    """The transition does not cross departments forward: there is nothing to rate."""

    code = "not_a_handoff"


class InvalidRating(InvalidInput):
    code = "invalid_rating"


class RatingClosed(Conflict):
    """Someone else rated the handoff already, or the edit window has passed."""

    code = "rating_closed"


# --- what a handoff is -------------------------------------------------------------------


def handoff_pairs(model: StageModel) -> list[tuple[str, str, Department, Department]]:
    """Every (from, to, giving, receiving) the model counts as a handoff."""
    pairs: list[tuple[str, str, Department, Department]] = []
    for a in model.main_line:
        for b in model.main_line:
            found = model.handoff(a, b)
            if found is not None:
                pairs.append((a, b, found[0], found[1]))
    return pairs


def _is_handoff(model: StageModel) -> ColumnElement[bool]:
    pairs = handoff_pairs(model)
    if not pairs:
        return false()
    return or_(
        *(
            and_(CrmTransition.from_stage == a, CrmTransition.to_stage == b)
            for a, b, _g, _r in pairs
        )
    )


@dataclass(frozen=True, slots=True)
class Handoff:
    """One handoff with its rating, if any (for the inbox and the API)."""

    transition_id: uuid.UUID
    entity_id: uuid.UUID
    entity_ref: str
    entity_name: str
    from_stage: str
    to_stage: str
    giving: Department
    receiving: Department
    fast_pass: bool
    at: datetime
    actor: str
    campaign_id: uuid.UUID | None
    rating: int | None
    comment: str | None
    rated_by: str | None
    rated_at: datetime | None

    def editable_by(self, rater: str, now: datetime | None = None) -> bool:
        """May ``rater`` (still) give or change the rating?"""
        if self.rating is None or self.rated_at is None:
            return True
        return self.rated_by == rater and (now or utcnow()) - self.rated_at <= EDIT_WINDOW


def handoffs(
    session: Session,
    organization_id: uuid.UUID,
    *,
    state: State = "pending",
    limit: int = 100,
    model: StageModel | None = None,
) -> list[Handoff]:
    """The organization's handoffs, newest first: ``pending`` (not rated yet), ``rated``
    (newest rating first) or ``all``."""
    if state not in ("pending", "rated", "all"):
        raise InvalidInput("state is pending, rated or all")
    model = model or load_model(session, organization_id)
    departments = {(a, b): (g, r) for a, b, g, r in handoff_pairs(model)}
    stmt = (
        select(
            CrmTransition.id,
            CrmTransition.entity_id,
            CrmEntity.ref,
            CrmEntity.name,
            CrmTransition.from_stage,
            CrmTransition.to_stage,
            CrmTransition.at,
            CrmTransition.actor,
            CrmTransition.campaign_id,
            CrmHandoffRating.rating,
            CrmHandoffRating.comment,
            CrmHandoffRating.rated_by,
            CrmHandoffRating.rated_at,
        )
        .join(CrmEntity, CrmEntity.id == CrmTransition.entity_id)
        .outerjoin(CrmHandoffRating, CrmHandoffRating.transition_id == CrmTransition.id)
        .where(_is_handoff(model))
    )
    mine = CrmTransition.organization_id == organization_id
    if state == "pending":
        stmt = stmt.where(mine, CrmHandoffRating.id.is_(None)).order_by(
            CrmTransition.at.desc(), CrmTransition.id
        )
    elif state == "rated":
        # the newest ratings: start from the organization's ratings (a rating always belongs
        # to its transition's organization), not from all its transitions — the transition
        # side's organization test is wrapped so that SQLite's planner cannot pick its index
        # (it would scan every transition of the organization to sort a few ratings)
        stmt = stmt.where(
            CrmHandoffRating.id.is_not(None),
            CrmHandoffRating.organization_id == organization_id,
            func.coalesce(CrmTransition.organization_id, CrmTransition.organization_id)
            == organization_id,
        ).order_by(CrmHandoffRating.rated_at.desc(), CrmTransition.id)
    else:
        stmt = stmt.where(mine).order_by(CrmTransition.at.desc(), CrmTransition.id)
    rows = session.execute(stmt.limit(max(1, min(limit, MAX_LIST)))).all()
    return [
        Handoff(
            transition_id=row.id,
            entity_id=row.entity_id,
            entity_ref=row.ref,
            entity_name=row.name,
            from_stage=row.from_stage,
            to_stage=row.to_stage,
            giving=departments[(row.from_stage, row.to_stage)][0],
            receiving=departments[(row.from_stage, row.to_stage)][1],
            fast_pass=model.is_fast_pass(row.from_stage, row.to_stage),
            at=row.at,
            actor=row.actor,
            campaign_id=row.campaign_id,
            rating=row.rating,
            comment=row.comment,
            rated_by=row.rated_by,
            rated_at=row.rated_at,
        )
        for row in rows
    ]


def get_handoff(
    session: Session,
    organization_id: uuid.UUID,
    transition_id: uuid.UUID,
    *,
    model: StageModel | None = None,
) -> CrmTransition:
    """The organization's transition, checked to be a handoff (404 / 422 otherwise)."""
    transition = session.get(CrmTransition, transition_id)
    if transition is None or transition.organization_id != organization_id:
        raise TransitionNotFound(f"no transition with id {transition_id}")
    model = model or load_model(session, organization_id)
    if model.handoff(transition.from_stage, transition.to_stage) is None:
        raise NotAHandoff(
            f"{transition.from_stage or 'no stage'} → {transition.to_stage} is not a handoff "
            "between departments"
        )
    return transition


def check_rating(rating: object, comment: str) -> tuple[int, str]:
    """The rating and comment as stored, or ``InvalidRating`` saying which field is wrong."""
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise InvalidRating(
            "a rating is a whole number from 1 to 5",
            errors=[{"field": "rating", "message": "a whole number from 1 to 5"}],
        )
    text = comment.strip()
    if "\x00" in text:
        raise InvalidRating(
            "a comment must not contain NUL characters",
            errors=[{"field": "comment", "message": "no NUL characters"}],
        )
    if len(text) > MAX_COMMENT:
        raise InvalidRating(
            f"a comment has at most {MAX_COMMENT} characters",
            errors=[{"field": "comment", "message": f"at most {MAX_COMMENT} characters"}],
        )
    return rating, text


def rate(
    session: Session,
    organization_id: uuid.UUID,
    transition_id: uuid.UUID,
    *,
    rating: object,
    comment: str = "",
    rater: str,
    model: StageModel | None = None,
    now: datetime | None = None,
) -> CrmHandoffRating:
    """Rate a handoff (or change one's own rating within ``EDIT_WINDOW``)."""
    transition = get_handoff(session, organization_id, transition_id, model=model)
    value, text = check_rating(rating, comment)
    if transition.actor == rater:
        raise InvalidRating(
            "the receiving side rates a handoff, not whoever handed it over",
            errors=[{"field": "rating", "message": "you made this move"}],
        )
    now = now or utcnow()
    existing = session.scalar(
        select(CrmHandoffRating).where(CrmHandoffRating.transition_id == transition.id)
    )
    if existing is not None:
        if existing.rated_by != rater:
            raise RatingClosed("someone else rated this handoff already")
        if now - existing.rated_at > EDIT_WINDOW:
            raise RatingClosed("a rating can be changed for 7 days only")
        existing.rating = value
        existing.comment = text
        session.flush()
        return existing
    row = CrmHandoffRating(
        organization_id=organization_id,
        transition_id=transition.id,
        rating=value,
        comment=text,
        rated_by=rater,
        rated_at=now,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        raise RatingClosed("someone rated this handoff at the same time") from exc
    return row


# --- reports -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Figures:
    handoffs: int
    rated: int
    #: the mean rating of the rated ones (``None`` when none is rated)
    average: float | None
    #: the share of ratings ≤ ``LOW_RATING`` among the rated (``None`` when none is rated)
    low_share: float | None
    #: the latest non-empty comments, newest first
    comments: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "handoffs": self.handoffs,
            "rated": self.rated,
            "average": self.average,
            "low_share": self.low_share,
            "comments": list(self.comments),
        }


@dataclass(frozen=True, slots=True)
class SourceRow:
    giving: str
    receiving: str
    from_stage: str
    to_stage: str
    figures: Figures


@dataclass(frozen=True, slots=True)
class DepartmentRow:
    giving: str
    receiving: str
    figures: Figures


@dataclass(frozen=True, slots=True)
class ActorRow:
    actor: str
    figures: Figures


@dataclass(frozen=True, slots=True)
class CampaignRow:
    campaign_id: uuid.UUID
    name: str
    channel: str
    #: handoffs whose transition names the campaign
    credited: int
    figures: Figures


@dataclass(frozen=True, slots=True)
class PeriodRow:
    start: date
    end: date
    figures: Figures


@dataclass(frozen=True, slots=True)
class HandoffReport:
    timezone: str
    period: Period
    start: date
    end: date
    total: Figures
    by_department: list[DepartmentRow]
    by_source: list[SourceRow]
    by_actor: list[ActorRow]
    by_campaign: list[CampaignRow]
    by_period: list[PeriodRow]

    def as_json(self) -> dict[str, Any]:
        return {
            "timezone": self.timezone,
            "period": self.period,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "total": self.total.as_json(),
            "by_department": [
                {"giving": r.giving, "receiving": r.receiving, **r.figures.as_json()}
                for r in self.by_department
            ],
            "by_source": [
                {
                    "giving": r.giving,
                    "receiving": r.receiving,
                    "from_stage": r.from_stage,
                    "to_stage": r.to_stage,
                    **r.figures.as_json(),
                }
                for r in self.by_source
            ],
            "by_actor": [{"actor": r.actor, **r.figures.as_json()} for r in self.by_actor],
            "by_campaign": [
                {
                    "campaign_id": str(r.campaign_id),
                    "name": r.name,
                    "channel": r.channel,
                    "credited": r.credited,
                    **r.figures.as_json(),
                }
                for r in self.by_campaign
            ],
            "periods": [
                {"start": r.start.isoformat(), "end": r.end.isoformat(), **r.figures.as_json()}
                for r in self.by_period
            ],
        }


def period_start(day: date, period: Period) -> date:
    """The first day of the week (Monday) or month that contains ``day``."""
    if period == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def next_period(day: date, period: Period) -> date:
    if period == "week":
        return day + timedelta(days=7)
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def report_range(start: date, end: date, period: Period) -> tuple[date, date]:
    """``[start, end)`` widened to whole periods: from the period holding ``start`` to the
    end of the one holding the day before ``end``."""
    if period not in ("week", "month"):
        raise InvalidInput("period is week or month")
    if end <= start:
        raise InvalidInput("end must come after start")
    first = period_start(start, period)
    last = period_start(end - timedelta(days=1), period)
    return first, next_period(last, period)


def default_range(today: date, period: Period) -> tuple[date, date]:
    """The last 12 weeks or 12 months up to and including ``today``."""
    end = today + timedelta(days=1)
    back = timedelta(weeks=12) if period == "week" else timedelta(days=365)
    return report_range(end - back, end, period)


def _table(rows: Sequence[Any], schema: pa.Schema) -> pa.Table:
    """Rows of a query as an Arrow table (one column per field of ``schema``)."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    return pa.table(
        [_array(col, f.type) for col, f in zip(columns, schema, strict=True)],
        schema=schema,
    )


def _array(values: Sequence[Any], kind: pa.DataType) -> pa.Array:
    """One column as Arrow; aware UTC datetimes go in as naive UTC and get their zone back
    by a cast (pyarrow converts aware datetimes one by one, about ten times slower)."""
    if pa.types.is_timestamp(kind) and kind.tz is not None:
        naive = [None if v is None else v.astimezone(UTC).replace(tzinfo=None) for v in values]
        return pa.array(naive, pa.timestamp(kind.unit)).cast(kind)
    return pa.array(list(values), type=kind)


_HANDOFFS = pa.schema(
    [
        ("transition_id", pa.string()),
        ("entity_id", pa.string()),
        ("from_stage", pa.string()),
        ("to_stage", pa.string()),
        ("actor", pa.string()),
        ("campaign_id", pa.string()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("rating", pa.int16()),
        ("comment", pa.string()),
        ("rated_at", pa.timestamp("us", tz="UTC")),
    ]
)
_PAIRS = pa.schema(
    [
        ("from_stage", pa.string()),
        ("to_stage", pa.string()),
        ("giving", pa.string()),
        ("receiving", pa.string()),
    ]
)
_TOUCHES = pa.schema(
    [
        ("campaign_id", pa.string()),
        ("entity_id", pa.string()),
        ("touched_at", pa.timestamp("us", tz="UTC")),
    ]
)
_CAMPAIGNS = pa.schema(
    [("campaign_id", pa.string()), ("name", pa.string()), ("channel", pa.string())]
)

#: the figures of a group, over the view ``h`` (one row per handoff)
_FIGURES = f"""
    count(*) AS handoffs,
    count(rating) AS rated,
    avg(rating) AS average,
    CASE WHEN count(rating) = 0 THEN NULL
         ELSE (count(*) FILTER (WHERE rating <= {LOW_RATING}))::DOUBLE / count(rating) END
         AS low_share,
    coalesce(list_slice(
        list(comment ORDER BY rated_at DESC, transition_id)
            FILTER (WHERE comment IS NOT NULL AND comment <> ''),
        1, {LATEST_COMMENTS}), []) AS comments
"""


def _figures(row: Sequence[Any], offset: int) -> Figures:
    handoffs, rated, average, low, comments = row[offset : offset + 5]
    return Figures(
        handoffs=int(handoffs),
        rated=int(rated),
        average=None if average is None else float(average),
        low_share=None if low is None else float(low),
        comments=tuple(comments or ()),
    )


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone)


#: how many ids one ``IN`` list carries (well under SQLite's limit on parameters)
_ID_CHUNK: Final = 5000


def report(
    session: Session,
    organization_id: uuid.UUID,
    *,
    start: date,
    end: date,
    period: Period = "week",
    model: StageModel | None = None,
) -> HandoffReport:
    """The feedback report of the handoffs in ``[start, end)`` (local dates, widened to whole
    periods; see ``report_range``)."""
    first, stop = report_range(start, end, period)
    model = model or load_model(session, organization_id)
    zone_name = organization_timezone(session, organization_id)
    zone = ZoneInfo(zone_name)
    since, until = _local_midnight(first, zone), _local_midnight(stop, zone)
    in_range = (
        CrmTransition.organization_id == organization_id,
        CrmTransition.at >= since,
        CrmTransition.at < until,
        _is_handoff(model),
    )
    rows = session.execute(
        select(
            cast(CrmTransition.id, String),
            cast(CrmTransition.entity_id, String),
            CrmTransition.from_stage,
            CrmTransition.to_stage,
            CrmTransition.actor,
            cast(CrmTransition.campaign_id, String),
            CrmTransition.at,
            CrmHandoffRating.rating,
            CrmHandoffRating.comment,
            CrmHandoffRating.rated_at,
        )
        .outerjoin(CrmHandoffRating, CrmHandoffRating.transition_id == CrmTransition.id)
        .where(*in_range)
    ).all()
    # only the touches a handoff of the range can join (its entity's), asked for by id
    entity_ids = sorted({uuid.UUID(row[1]) for row in rows})
    touches: list[Any] = []
    for k in range(0, len(entity_ids), _ID_CHUNK):
        touches.extend(
            session.execute(
                select(
                    cast(CrmCampaignMember.campaign_id, String),
                    cast(CrmCampaignMember.entity_id, String),
                    CrmCampaignMember.touched_at,
                )
                .join(CrmCampaign, CrmCampaign.id == CrmCampaignMember.campaign_id)
                .where(
                    CrmCampaign.organization_id == organization_id,
                    CrmCampaignMember.touched_at < until,
                    CrmCampaignMember.entity_id.in_(entity_ids[k : k + _ID_CHUNK]),
                )
            ).all()
        )
    campaigns = session.execute(
        select(cast(CrmCampaign.id, String), CrmCampaign.name, CrmCampaign.channel).where(
            CrmCampaign.organization_id == organization_id
        )
    ).all()
    campaign_table = _table(campaigns, _CAMPAIGNS)
    return _compute(
        _table(rows, _HANDOFFS),
        _table([(a, b, g, r) for a, b, g, r in handoff_pairs(model)], _PAIRS),
        _in_scan_order(_table(touches, _TOUCHES), campaign_table),
        campaign_table,
        zone_name=zone_name,
        period=period,
        first=first,
        stop=stop,
    )


def _in_scan_order(touches: pa.Table, campaigns: pa.Table) -> pa.Table:
    """The touches by campaign (in the order the campaigns query lists them), then entity —
    the order SQLite's scan of all the organization's members yields — whatever the chunks
    they were asked for in."""
    rank = pc.index_in(touches.column("campaign_id"), value_set=campaigns.column("campaign_id"))
    order = pc.sort_indices(
        touches.append_column("rank", rank),
        sort_keys=[("rank", "ascending"), ("entity_id", "ascending")],
    )
    return touches.take(order)


#: one row per handoff of the range, with its departments and local period
_BASE = """
    CREATE TEMP TABLE h AS
    SELECT t.*, p.giving, p.receiving,
           date_trunc($period, timezone($zone, t.ts))::DATE AS period_start
    FROM t JOIN pairs p USING (from_stage, to_stage)
"""
_TOTAL = f"SELECT {_FIGURES} FROM h"  # noqa: S608 (fixed fragments)
_BY_DEPARTMENT = (
    f"SELECT giving, receiving, {_FIGURES} FROM h GROUP BY ALL "  # noqa: S608 (fixed)
    "ORDER BY handoffs DESC, giving, receiving"
)
_BY_SOURCE = (
    f"SELECT giving, receiving, from_stage, to_stage, {_FIGURES} "  # noqa: S608 (fixed)
    "FROM h GROUP BY ALL ORDER BY handoffs DESC, from_stage, to_stage"
)
_BY_ACTOR = (
    f"SELECT actor, {_FIGURES} FROM h GROUP BY ALL "  # noqa: S608 (fixed fragments)
    "ORDER BY handoffs DESC, actor"
)
#: a handoff counts for a campaign credited on its transition, and for every campaign whose
#: member was touched strictly before it
_BY_CAMPAIGN = f"""
    WITH links AS (
        SELECT campaign_id, transition_id, bool_or(credited) AS credited FROM (
            SELECT campaign_id, transition_id, true AS credited
            FROM h WHERE campaign_id IS NOT NULL
            UNION ALL
            SELECT m.campaign_id, h.transition_id, false
            FROM h JOIN touches m ON m.entity_id = h.entity_id AND m.touched_at < h.ts
        ) GROUP BY ALL
    )
    SELECT c.campaign_id, c.name, c.channel,
           count(*) FILTER (WHERE links.credited) AS credited, {_FIGURES}
    FROM links JOIN h USING (transition_id)
         JOIN campaigns c ON c.campaign_id = links.campaign_id
    GROUP BY ALL ORDER BY handoffs DESC, c.name
"""  # noqa: S608 (fixed fragments)
#: every period of the range, the empty ones included
_BY_PERIOD = f"""
    WITH grid AS (
        SELECT generate_series::DATE AS period_start
        FROM generate_series($first::DATE, $last::DATE,
             CASE WHEN $period = 'week' THEN to_days(7) ELSE to_months(1) END)
    ),
    figures AS (SELECT period_start, {_FIGURES} FROM h GROUP BY ALL)
    SELECT grid.period_start, coalesce(f.handoffs, 0), coalesce(f.rated, 0),
           f.average, f.low_share, coalesce(f.comments, [])
    FROM grid LEFT JOIN figures f USING (period_start)
    ORDER BY grid.period_start
"""  # noqa: S608 (fixed fragments)


def _compute(
    handoff_rows: pa.Table,
    pairs: pa.Table,
    touches: pa.Table,
    campaigns: pa.Table,
    *,
    zone_name: str,
    period: Period,
    first: date,
    stop: date,
) -> HandoffReport:
    con = duckdb.connect()
    try:
        con.register("t", handoff_rows)
        con.register("pairs", pairs)
        con.register("touches", touches)
        con.register("campaigns", campaigns)
        con.execute(_BASE, {"period": period, "zone": zone_name})
        total = con.execute(_TOTAL).fetchall()[0]
        departments = con.execute(_BY_DEPARTMENT).fetchall()
        sources = con.execute(_BY_SOURCE).fetchall()
        actors = con.execute(_BY_ACTOR).fetchall()
        by_campaign = con.execute(_BY_CAMPAIGN).fetchall()
        periods = con.execute(
            _BY_PERIOD, {"first": first, "last": stop - timedelta(days=1), "period": period}
        ).fetchall()
    finally:
        con.close()
    return HandoffReport(
        timezone=zone_name,
        period=period,
        start=first,
        end=stop,
        total=_figures(total, 0),
        by_department=[DepartmentRow(r[0], r[1], _figures(r, 2)) for r in departments],
        by_source=[SourceRow(r[0], r[1], r[2], r[3], _figures(r, 4)) for r in sources],
        by_actor=[ActorRow(r[0], _figures(r, 1)) for r in actors],
        by_campaign=[
            CampaignRow(_uuid(r[0]), r[1], r[2], int(r[3]), _figures(r, 4)) for r in by_campaign
        ],
        by_period=[PeriodRow(r[0], next_period(r[0], period), _figures(r, 1)) for r in periods],
    )


def _uuid(value: str) -> uuid.UUID:
    """A UUID as the database cast it to text (hex on SQLite, dashed on PostgreSQL)."""
    return uuid.UUID(value)
