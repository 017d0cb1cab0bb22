"""Pipeline metrics of THE MODEL over the transition events (aggregated in DuckDB).

The picture::

    database ──load_events──▶ Events (Arrow: transitions, entities, targets; cached per org)
                                 │
                  compute(events, model, query)
                                 │   1. _prepare: ``ev``, every transition once with its
                                 │      neighbours' facts (the stage it left, when its span
                                 │      ends, its period, whether it opens a conversion
                                 │      cohort and how far the entity got within the
                                 │      window) — vectorised array shifts over rows kept
                                 │      in (entity, seq) order; small tables of the won /
                                 │      lost and renewal / churn rows
                                 │   2. one in-memory DuckDB connection: a handful of
                                 │      GROUP BYs over those Arrow tables (small results)
                                 ▼
                   a JSON-ready dict (the contract of docs/crm/metrics-contract.md)

Why step 1 is not SQL window functions: on two cores ``LAG``/``LEAD`` and a ``RANGE`` frame
over 10 M rows cost 4-5 s in sorts; the rows are already sorted (docs/crm/metrics.md).

What must stay true:

- No Python loop runs over transitions or entities (the look-ahead loops step over
  *distances*, each pass vectorised over every row); Python only shapes the small grouped
  results (stages × periods) into JSON.
- Periods are local calendar weeks (Monday) or months in the query's time zone: their
  boundaries are local midnights turned into UTC instants, and a transition belongs to the
  period with ``start <= at < end``.
- Definitions are those of docs/crm/metrics.md; ``tests/unit/crm/reference.py`` restates
  them naively and the property tests hold the two equal.
"""

from __future__ import annotations

import copy
import itertools
import math
import threading
import uuid
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, Executable, String, cast, func, select, type_coerce
from sqlalchemy.orm import Session

from tsunagu.core.errors import InvalidInput
from tsunagu.crm.models import CrmEntity, CrmTarget, CrmTransition
from tsunagu.crm.service import load_model
from tsunagu.crm.stages import StageModel

__all__ = [
    "SEGMENTS",
    "Events",
    "MetricsQuery",
    "cached_events",
    "compute",
    "empty_events",
    "load_events",
    "periods_of",
    "report",
]

Period = Literal["week", "month"]
SEGMENTS: Final = ("industry", "size", "channel", "region", "owner")
#: about five years of either period
MAX_PERIODS: Final = {"week": 262, "month": 61}
MAX_WINDOW_DAYS: Final = 730
#: the bottleneck ignores a step whose cohort in the evaluated period is smaller than this
MIN_COHORT: Final = 5
#: how many earlier periods make a step's trailing average
TRAILING_PERIODS: Final = 12
#: sudden changes: compared with the mean of this many earlier points …
FLAG_WINDOW: Final = 4
#: … a point is flagged when it is further from that mean than this many standard
#: deviations of those points and than this share of the mean
FLAG_SIGMAS: Final = 3.0
FLAG_RELATIVE: Final = 0.25
AGE_BUCKETS: Final = (("0-30", 0, 30), ("31-90", 31, 90), ("91-180", 91, 180), ("181+", 181, None))

_DAY_US: Final = 86_400_000_000


# --- the query ---------------------------------------------------------------------------


#: the calendar a query may cover (beyond it period arithmetic leaves the calendar)
EARLIEST_DAY: Final = date(1900, 1, 1)
LATEST_DAY: Final = date(9998, 12, 1)


@dataclass(frozen=True)
class MetricsQuery:
    """What to compute: local dates ``[start, end)`` in ``timezone``, by ``period``."""

    start: date
    end: date
    period: Period = "week"
    timezone: str = "Asia/Tokyo"
    window_days: int = 90
    segment: dict[str, str] | None = None

    def validate(self) -> None:
        """Raise ``InvalidInput`` with a message a person can act on."""
        if self.period not in MAX_PERIODS:
            raise InvalidInput(f"unknown period {self.period!r}: use 'week' or 'month'")
        if self.start >= self.end:
            raise InvalidInput("start must be before end")
        if self.start < EARLIEST_DAY or self.end > LATEST_DAY:
            raise InvalidInput(
                f"the range must lie between {EARLIEST_DAY.isoformat()} "
                f"and {LATEST_DAY.isoformat()}"
            )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidInput(f"unknown time zone {self.timezone!r}") from exc
        if not 1 <= self.window_days <= MAX_WINDOW_DAYS:
            raise InvalidInput(f"window_days must be between 1 and {MAX_WINDOW_DAYS}")
        unknown = sorted(set(self.segment or {}) - set(SEGMENTS))
        if unknown:
            raise InvalidInput(f"unknown segment {', '.join(unknown)}: use {', '.join(SEGMENTS)}")
        n = len(periods_of(self)) - 1
        if n > MAX_PERIODS[self.period]:
            raise InvalidInput(
                f"the range spans {n} {self.period}s; at most {MAX_PERIODS[self.period]} "
                "(about five years)"
            )


def _floor(day: date, period: Period) -> date:
    return day - timedelta(days=day.weekday()) if period == "week" else day.replace(day=1)


def _next(day: date, period: Period) -> date:
    if period == "week":
        return day + timedelta(days=7)
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def periods_of(query: MetricsQuery) -> list[date]:
    """The period boundaries as local dates: ``n + 1`` dates for ``n`` periods."""
    bounds = [_floor(query.start, query.period)]
    last = query.end - timedelta(days=1)
    while bounds[-1] <= last:
        bounds.append(_next(bounds[-1], query.period))
    return bounds


def _instant(day: date, zone: ZoneInfo) -> datetime:
    """Local midnight of ``day`` as a UTC instant."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _us(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


# --- the events --------------------------------------------------------------------------

TRANSITIONS_SCHEMA: Final = pa.schema(
    [
        ("entity", pa.int32()),
        ("seq", pa.int32()),
        ("to_stage", pa.int16()),
        ("at", pa.timestamp("us", tz="UTC")),
        ("amount", pa.int64()),
    ]
)
ENTITIES_SCHEMA: Final = pa.schema(
    [
        ("entity", pa.int32()),
        ("industry", pa.string()),
        ("size", pa.string()),
        ("channel", pa.string()),
        ("region", pa.string()),
        ("owner", pa.string()),
        ("amount", pa.int64()),
    ]
)


@dataclass(frozen=True)
class Events:
    """One organization's history as Arrow tables.

    ``transitions``: ``entity`` (row index into ``entities``), ``seq`` (1, 2, … per entity in
    time order), ``to_stage`` (an index into ``stages``), ``at`` (UTC), ``amount`` (nullable).
    ``entities``: ``entity`` (0 … n-1), the segments and the deal ``amount``.
    ``targets``: configured target rates by (from, to) stage keys.
    """

    transitions: pa.Table
    entities: pa.Table
    stages: tuple[str, ...]
    targets: Mapping[tuple[str, str], float] = field(default_factory=dict)


def empty_events() -> Events:
    return Events(TRANSITIONS_SCHEMA.empty_table(), ENTITIES_SCHEMA.empty_table(), ())


_CACHE_SIZE: Final = 16
#: (database, organization) → (fingerprint, events, the entities' ids as the database spells
#: them in text, in the order of ``events.entities``)
_cache: OrderedDict[tuple[str, uuid.UUID], tuple[tuple[Any, ...], Events, pa.Array]] = OrderedDict()
_cache_lock = threading.Lock()


def load_events(
    session: Session, organization_id: uuid.UUID, *, until: datetime | None = None
) -> Events:
    """The organization's transitions (before ``until`` when given) and entities as Arrow.

    Without ``until`` the result is cached per organization, keyed on the count and the
    latest ``recorded_at`` of its transitions and the count and latest ``updated_at`` of its
    entities (one cheap query decides whether the cache still holds); the targets are read
    every time.  Owners are spelled as ``str(uuid)`` on every database.
    """
    t_, e_ = CrmTransition, CrmEntity
    targets = {
        (a, b): float(rate)
        for a, b, rate in session.execute(
            select(CrmTarget.from_stage, CrmTarget.to_stage, CrmTarget.rate).where(
                CrmTarget.organization_id == organization_id
            )
        )
    }
    key: tuple[str, uuid.UUID] | None = None
    fingerprint: tuple[Any, ...] = ()
    if until is None:
        fingerprint = _fingerprint(session, organization_id)
        key = (str(session.get_bind().engine.url), organization_id)
        with _cache_lock:
            hit = _cache.get(key)
            if hit is not None and hit[0] == fingerprint:
                _cache.move_to_end(key)
                return Events(hit[1].transitions, hit[1].entities, hit[1].stages, targets)
    # the rows go through the Core connection (no ORM row machinery); on SQLite ``at`` comes
    # as its stored text (naive UTC) and Arrow parses it, instead of a datetime per row
    connection = session.connection()
    raw_at = connection.dialect.name == "sqlite"
    at_column = type_coerce(t_.at, String) if raw_at else t_.at
    stmt = (
        select(cast(t_.entity_id, String), t_.seq, t_.to_stage, at_column, t_.amount)
        .where(t_.organization_id == organization_id)
        .order_by(t_.entity_id, t_.seq)
    )
    if until is not None:
        stmt = stmt.where(t_.at < until)
    t_cols = list(zip(*_driver_rows(connection, stmt), strict=True)) or [()] * 5
    e_cols = (
        list(
            zip(
                *_driver_rows(
                    connection,
                    select(
                        cast(e_.id, String),
                        e_.industry,
                        e_.size,
                        e_.channel,
                        e_.region,
                        cast(e_.owner_user_id, String),
                        e_.amount,
                    )
                    .where(e_.organization_id == organization_id)
                    .order_by(e_.id),  # the same order as the transitions: rows stay sorted
                ),
                strict=True,
            )
        )
        or [()] * 7
    )
    entity_ids = pa.array(e_cols[0], pa.string())
    to_stage = pc.dictionary_encode(pa.array(t_cols[2], pa.string()))
    transitions = pa.table(
        {
            "entity": pc.index_in(pa.array(t_cols[0], pa.string()), value_set=entity_ids).cast(
                pa.int32()
            ),
            "seq": pa.array(t_cols[1], pa.int32()),
            "to_stage": to_stage.indices.cast(pa.int16()),
            "at": _utc_text_array(t_cols[3]) if raw_at else _utc_array(t_cols[3]),
            "amount": pa.array(t_cols[4], pa.int64()),
        },
        schema=TRANSITIONS_SCHEMA,
    )
    entities = pa.table(
        {
            "entity": pa.array(range(len(entity_ids)), pa.int32()),
            **{name: pa.array(e_cols[i + 1], pa.string()) for i, name in enumerate(SEGMENTS[:-1])},
            "owner": _canonical_uuid(pa.array(e_cols[5], pa.string())),
            "amount": pa.array(e_cols[6], pa.int64()),
        },
        schema=ENTITIES_SCHEMA,
    )
    events = Events(
        transitions, entities, tuple(str(s) for s in to_stage.dictionary.to_pylist()), targets
    )
    if key is not None:
        with _cache_lock:
            _cache[key] = (fingerprint, events, entity_ids)
            _cache.move_to_end(key)
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    return events


def _driver_rows(connection: Connection, stmt: Executable) -> list[Any]:
    """The rows as the database driver returns them, without a SQLAlchemy row object each.

    Only for the columns ``load_events`` reads, which need no conversion on the way out:
    ids cast to text, strings, integers, and ``at`` (text on SQLite; an aware datetime
    elsewhere, which ``_utc_array`` turns to UTC itself).
    """
    result = connection.execute(stmt)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def _fingerprint(session: Session, organization_id: uuid.UUID) -> tuple[Any, ...]:
    """The count and latest ``recorded_at`` of the organization's transitions and the count
    and latest ``updated_at`` of its entities (index-only; decides whether a cache holds)."""
    t_, e_ = CrmTransition, CrmEntity
    mine = e_.organization_id == organization_id
    row = session.execute(
        select(
            func.count(),
            func.max(t_.recorded_at),
            select(func.count()).select_from(e_).where(mine).scalar_subquery(),
            select(func.max(e_.updated_at)).where(mine).scalar_subquery(),
        ).where(t_.organization_id == organization_id)
    ).one()
    return tuple(row)


def cached_events(session: Session, organization_id: uuid.UUID) -> tuple[Events, pa.Array] | None:
    """What ``load_events`` would answer from its cache now — the events without targets
    and the entities' ids as text in row order — or ``None`` when the cache has nothing
    current for the organization (this never loads: one index-only query)."""
    key = (str(session.get_bind().engine.url), organization_id)
    with _cache_lock:
        hit = _cache.get(key)
    if hit is None or hit[0] != _fingerprint(session, organization_id):
        return None
    return hit[1], hit[2]


def _utc_array(values: Sequence[datetime]) -> pa.Array:
    """Aware UTC datetimes as an Arrow timestamp column: handed over naive and given their
    zone by a cast (pyarrow converts aware datetimes one by one, about ten times slower)."""
    naive = [v.astimezone(UTC).replace(tzinfo=None) for v in values]
    return pa.array(naive, pa.timestamp("us")).cast(pa.timestamp("us", tz="UTC"))


def _utc_text_array(values: Sequence[str]) -> pa.Array:
    """SQLite's stored text of UTC datetimes (``YYYY-MM-DD HH:MM:SS[.ffffff]``) as Arrow."""
    return pa.array(values, pa.string()).cast(pa.timestamp("us")).cast(pa.timestamp("us", tz="UTC"))


def _canonical_uuid(values: pa.Array) -> pa.Array:
    """Ids as ``str(uuid)`` spells them (SQLite's text form has no hyphens)."""
    bare = pc.equal(pc.utf8_length(values), 32)
    parts = [pc.utf8_slice_codeunits(values, a, b) for a, b in _UUID_PARTS]
    dashed = pc.binary_join_element_wise(*parts, "-")
    return pc.if_else(bare, pc.utf8_lower(dashed), values)


_UUID_PARTS: Final = ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32))


_REPORTS_SIZE: Final = 32
#: recent reports: (database, organization, query, model, targets) → (the events' transitions
#: table they were computed from, the report); a hit needs the very table ``load_events``
#: holds now (its cache check decides whether the history changed)
_reports: OrderedDict[tuple[Any, ...], tuple[pa.Table, dict[str, Any]]] = OrderedDict()


def _query_key(query: MetricsQuery) -> tuple[Any, ...]:
    segment = tuple(sorted((query.segment or {}).items()))
    return (query.start, query.end, query.period, query.timezone, query.window_days, segment)


def report(session: Session, organization_id: uuid.UUID, query: MetricsQuery) -> dict[str, Any]:
    """Every metric of the organization for ``query`` (see ``compute``).

    The report is kept for the same query, stage model and targets while ``load_events``
    answers from its cache (the history did not change): reloading a page or switching
    between the metrics pages costs the cache check only.  Each caller gets its own copy.
    """
    query.validate()
    model = load_model(session, organization_id)
    events = load_events(session, organization_id)
    key = (
        str(session.get_bind().engine.url),
        organization_id,
        _query_key(query),
        model,
        tuple(sorted(events.targets.items())),
    )
    with _cache_lock:
        hit = _reports.get(key)
        if hit is not None and hit[0] is events.transitions:
            _reports.move_to_end(key)
            return copy.deepcopy(hit[1])
    result = compute(events, model, query)
    with _cache_lock:
        _reports[key] = (events.transitions, copy.deepcopy(result))
        _reports.move_to_end(key)
        while len(_reports) > _REPORTS_SIZE:
            _reports.popitem(last=False)
    return result


# --- computing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Frame:
    """The periods and stage codes of one computation."""

    bounds: list[date]
    bounds_us: list[int]
    as_of_us: int
    keys: list[str]  # stage code -> key (the events' codes, then model stages they lack)
    model: StageModel

    @property
    def n(self) -> int:
        return len(self.bounds) - 1

    def code(self, key: str) -> int:
        return self.keys.index(key)

    def pos(self, key: str) -> int | None:
        return self.model.position(key) if key in self.model else None


def compute(
    events: Events,
    model: StageModel,
    query: MetricsQuery,
    *,
    targets: Mapping[tuple[str, str], float] | None = None,
) -> dict[str, Any]:
    """Every metric of item 3 for ``query`` over ``events``, as a JSON-ready dict."""
    query.validate()
    zone = ZoneInfo(query.timezone)
    bounds = periods_of(query)
    bounds_us = [_us(_instant(d, zone)) for d in bounds]
    keys = list(events.stages) + [k for k in model.keys if k not in events.stages]
    frame = _Frame(bounds, bounds_us, _us(_instant(query.end, zone)), keys, model)
    con = duckdb.connect()
    try:
        ev, wl, cs = _prepare(events, frame, query)
        con.register("ev", ev)
        con.register("wl", wl)
        con.register("cs", cs)
        moves = con.execute(
            "SELECT p, fr, tos, count(*) FROM ev WHERE p < ? GROUP BY ALL", [frame.n]
        ).fetchall()
        periods, flows = _flow_balance(frame, moves)
        conversion = _conversion(con, frame, query)
        result: dict[str, Any] = {
            "timezone": query.timezone,
            "period": query.period,
            "start": bounds[0].isoformat(),
            "end": bounds[-1].isoformat(),
            "as_of": query.end.isoformat(),
            "window_days": query.window_days,
            "segment": dict(query.segment or {}),
            "stages": _stages(model),
            "periods": periods,
            "conversion": conversion,
            "time_in_stage": _time_in_stage(con, frame),
            "ageing": _ageing(con, frame),
            "win_rate": _win_rate(con, frame),
            "customer_success": _customer_success(con, frame),
            "flows": flows,
        }
    finally:
        con.close()
    result["trend"] = _trend(frame, query, result)
    configured = dict(events.targets if targets is None else targets)
    result["bottleneck"] = _bottleneck(frame, query, conversion, configured)
    return result


def _sorted(transitions: pa.Table) -> pa.Table:
    """The transitions in (entity, seq) order (they come so from ``load_events``)."""
    ent = transitions["entity"].to_numpy()
    seq = transitions["seq"].to_numpy()
    step_e, step_s = np.diff(ent), np.diff(seq)
    if bool(np.all((step_e > 0) | ((step_e == 0) & (step_s > 0)))):
        return transitions
    return transitions.sort_by([("entity", "ascending"), ("seq", "ascending")])


def _period_index(frame: _Frame, at: np.ndarray) -> np.ndarray:
    """Each instant's period: -1 before the range, ``n`` after it.

    Boundaries are local midnights, so their offsets from the first are multiples of a
    *quantum* (their gcd: a day or a week in a zone without DST); an instant's offset in
    quanta indexes a small table of periods — a gather, not a search.
    """
    b0, bn = frame.bounds_us[0], frame.bounds_us[-1]
    offsets = [b - b0 for b in frame.bounds_us]
    quantum = math.gcd(*offsets[1:])
    lengths = [(offsets[i + 1] - offsets[i]) // quantum for i in range(frame.n)]
    if len(set(lengths)) == 1:  # equal periods (weeks without DST): plain division
        equal: np.ndarray = np.minimum(np.maximum((at - b0) // (lengths[0] * quantum), -1), frame.n)
        return equal.astype(np.int32)
    table = np.repeat(np.arange(frame.n, dtype=np.int32), lengths)
    q = np.clip((at - b0) // quantum, 0, max(table.size - 1, 0))
    p = table[q] if table.size else np.zeros(at.size, np.int32)
    p[at < b0] = -1
    p[at >= bn] = frame.n
    return p


def _prepare(
    events: Events, frame: _Frame, query: MetricsQuery
) -> tuple[pa.Table, pa.Table, pa.Table]:
    """``ev``: every transition once, with what the metrics need from its neighbours.

    The rows are in (entity, seq) order, so an entity's previous and next event are the
    neighbouring rows: the columns are array shifts and gathers (vectorised; no loop runs
    over rows — the two ``while`` loops below step *k* rows further per pass, over every
    row at once, as long as any row still has a neighbour k rows away in its window).

    - ``fr``: the stage the transition left (-1 for an entity's first event);
    - ``next_us``/``has_next``: when the entity moved on (the end of the span it opened);
    - ``p``: the period index, -1 before the range and ``n`` after it;
    - ``pos``: the main-line position of the stage entered (-1 for a side stage);
    - ``cohort``: the entity's first entry into this main stage in this period;
    - ``reach``: on cohort rows, the furthest main position the entity entered within
      ``(at, at + window]`` (-1: none), capped at the next position for all but the first
      main stage (a step only asks whether the next one was reached);
    - ``amt``: the amount (the transition's, else the entity's, else 0);
    - ``prior``: on renewal and churn rows, the contract amount before (the entity's last
      amount on an earlier transition, else the entity's amount, else 0).
    """
    t = _sorted(events.transitions)
    ent_amount_arrow = events.entities["amount"]
    ent_amount = ent_amount_arrow.fill_null(-1).to_numpy()
    if query.segment:
        match = np.ones(events.entities.num_rows, dtype=bool)
        for name, value in query.segment.items():
            column = events.entities[name]
            if name == "owner":  # an id matches with or without hyphens, in any case
                column = pc.utf8_lower(pc.replace_substring(column, "-", ""))
                value = value.replace("-", "").lower()
            match &= pc.equal(column, value).fill_null(False).to_numpy()
        t = t.filter(pa.array(match[t["entity"].to_numpy()]))
    ent = t["entity"].to_numpy()
    tos = t["to_stage"].to_numpy().astype(np.int16, copy=False)
    at = t["at"].cast(pa.int64()).to_numpy()
    amount_col = t["amount"]
    has_amount = amount_col.is_valid().to_numpy(zero_copy_only=False)
    amount = amount_col.fill_null(0).to_numpy()
    n = at.size
    same_prev = np.zeros(n, dtype=bool)
    same_prev[1:] = ent[1:] == ent[:-1]
    has_next = np.zeros(n, dtype=bool)
    has_next[:-1] = same_prev[1:]
    fr = np.full(n, -1, dtype=np.int16)
    fr[1:] = tos[:-1]
    fr[~same_prev] = -1
    next_us = np.zeros(n, dtype=np.int64)
    next_us[:-1] = at[1:]
    next_us[~has_next] = 0
    p = _period_index(frame, at)
    pos_lut = np.array([-1 if (q := frame.pos(k)) is None else q for k in frame.keys], np.int8)
    pos = pos_lut[tos] if n else np.zeros(0, np.int8)
    # cohort rows: main stage, in the range, the entity's first entry into it in the period
    # (an entity's rows of one period are contiguous: look back while still in that block)
    in_block = np.zeros(n, dtype=bool)
    in_block[1:] = same_prev[1:] & (p[1:] == p[:-1])
    is_cand = (pos >= 0) & (p >= 0) & (p < frame.n)
    dup = np.zeros(n, dtype=bool)
    dup[1:] = in_block[1:] & (tos[1:] == tos[:-1])
    idx, k = np.flatnonzero(in_block & is_cand), 2
    while idx.size:
        idx = idx[in_block[idx - k + 1]]
        dup[idx[tos[idx - k] == tos[idx]]] = True
        k += 1
    cohort = is_cand & ~dup
    # reach: look ahead while the entity's next rows are within the window
    limit = at + query.window_days * _DAY_US
    reach = np.full(n, -1, dtype=np.int8)
    ahead = np.zeros(n, dtype=bool)
    ahead[:-1] = has_next[:-1] & (at[1:] <= limit[:-1])
    # the next rows come later in the entity's history, even at the same instant
    reach[:-1] = np.where(ahead[:-1], pos[1:], -1)
    # a row stops looking once the answer cannot change: the next position for a step,
    # the last main position for the first main stage (whose cohort feeds the cumulative)
    main = frame.model.main_line
    goal = np.where(tos == frame.code(main[0]), len(main) - 1, pos + 1).astype(np.int8)
    idx = np.flatnonzero(ahead & cohort & (reach < goal))
    # the rows still looking carry their own time, limit, goal and answer (compact arrays)
    lim_i, goal_i, r_i = limit[idx], goal[idx], reach[idx]
    k = 2
    while idx.size:
        # row idx + k is the same entity's iff row idx + k - 1 has a next (the chain so far)
        before = idx + (k - 1)
        j = np.minimum(before + 1, n - 1)
        at_j = at[j]
        ok = has_next[before] & (at_j <= lim_i)
        r_i = np.where(ok, np.maximum(r_i, pos[j]), r_i)
        reach[idx] = r_i
        keep = ok & (r_i < goal_i)
        idx, lim_i, goal_i, r_i = (x[keep] for x in (idx, lim_i, goal_i, r_i))
        k += 1
    in_range = (p >= 0) & (p < frame.n)
    ev = pa.table(
        {
            "tos": tos,
            "fr": fr,
            "at_us": at,
            "has_next": has_next,
            "next_us": next_us,
            "p": p,
            "cohort": cohort,
            "reach": reach,
        }
    )
    # won and lost in the range, with the entity's segments
    won, lost = (frame.code(frame.model.by_role(r)) for r in ("won", "lost"))
    sel = np.flatnonzero(((tos == won) | (tos == lost)) & in_range)
    wl = events.entities.select(list(SEGMENTS)).take(ent[sel])
    for name, values in (
        ("p", p[sel]),
        ("is_won", tos[sel] == won),
        ("amt", np.where(has_amount[sel], amount[sel], np.maximum(ent_amount[ent[sel]], 0))),
    ):
        wl = wl.append_column(name, pa.array(values))
    # renewals and churns in the range, with the contract amount before each (look back for
    # the entity's last transition with an amount)
    renewal, churned = (frame.code(frame.model.by_role(r)) for r in ("renewal", "churned"))
    sel = np.flatnonzero(((tos == renewal) | (tos == churned)) & in_range)
    found = np.full(sel.size, -1, dtype=np.int64)
    idx, k = np.arange(sel.size), 1
    while idx.size:
        j = sel[idx] - k
        ok = same_prev[j + 1]
        idx, j = idx[ok], j[ok]
        hit = has_amount[j]
        found[idx[hit]] = j[hit]
        idx = idx[~hit]
        k += 1
    prior = np.where(found >= 0, amount[found], np.maximum(ent_amount[ent[sel]], 0))
    cs = pa.table(
        {
            "p": p[sel],
            "renewed": tos[sel] == renewal,
            "prior": prior,
            "now": np.where(has_amount[sel], amount[sel], prior),
        }
    )
    return ev, wl, cs


def _stages(model: StageModel) -> list[dict[str, Any]]:
    ordered = [model.stage(k) for k in model.main_line] + [
        s for s in model.stages if s.position is None
    ]
    return [
        {
            "key": s.key,
            "label_ja": s.label_ja,
            "label_en": s.label_en,
            "department": s.department,
            "position": s.position,
            "role": s.role,
            "terminal": s.terminal,
        }
        for s in ordered
    ]


def _rate(num: float, den: float) -> float | None:
    return None if den == 0 else num / den


def _flow_kind(model: StageModel, fr: str | None, to: str) -> str:
    if fr is None:
        return "first"
    roles = {role: model.by_role(role) for role in ("lost", "dead_end", "churned", "recycle")}
    for role in ("lost", "dead_end", "churned", "recycle"):
        if to == roles[role]:
            return role
    if fr == roles["recycle"]:
        return "return"
    a = model.position(fr) if fr in model else None
    b = model.position(to) if to in model else None
    if a is not None and b is not None:
        if b == a + 1:
            return "forward"
        if b > a + 1:
            return "fast_pass"
        if fr == model.by_role("renewal"):
            return "next_term"
    return "other"


def _flow_balance(
    frame: _Frame, moves: Sequence[tuple[int, int, int, int]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Flow and balance per period, and the Sankey's flows, from (p, from, to, n)."""
    keys = frame.keys
    shown = list(frame.model.keys) + [k for k in keys if k not in frame.model]
    into = [[0] * len(keys) for _ in range(frame.n + 1)]  # row 0: before the range
    out = [[0] * len(keys) for _ in range(frame.n + 1)]
    pairs: dict[tuple[int, int], int] = {}
    for p, fr, to, n in moves:
        into[p + 1][to] += n
        if fr >= 0:
            out[p + 1][fr] += n
        if p >= 0:
            pairs[(fr, to)] = pairs.get((fr, to), 0) + n
    periods = []
    balance = [0] * len(keys)
    for i in range(frame.n + 1):
        balance = [b + into[i][c] - out[i][c] for c, b in enumerate(balance)]
        if i == 0:
            continue
        periods.append(
            {
                "start": frame.bounds[i - 1].isoformat(),
                "end": frame.bounds[i].isoformat(),
                "flow": {k: into[i][frame.code(k)] for k in shown},
                "balance": {k: balance[frame.code(k)] for k in shown},
            }
        )
    flows = []
    for (fr, to), n in sorted(pairs.items(), key=lambda kv: -kv[1]):
        a = None if fr < 0 else keys[fr]
        b = keys[to]
        flows.append(
            {
                "from": a,
                "to": b,
                "count": n,
                "fast_pass": b in frame.model and frame.model.is_fast_pass(a, b),
                "kind": _flow_kind(frame.model, a, b),
            }
        )
    return periods, flows


def _conversion(
    con: duckdb.DuckDBPyConnection, frame: _Frame, query: MetricsQuery
) -> dict[str, Any]:
    """Step-to-step and cumulative conversion per cohort period.

    A cohort member is an entity's first entry into stage A in a period; it converts to B
    when it enters B or a later main stage within ``(t, t + window]`` — ``reach`` (the
    furthest main position entered in that window) is at least B's position.
    """
    rows = con.execute(
        """
        SELECT tos, p, reach, count(*) FROM ev WHERE cohort GROUP BY ALL
        """
    ).fetchall()
    # counts[stage key][period] -> {reach: n}
    counts: dict[str, list[dict[int, int]]] = {}
    for code, p, reach, n in rows:
        per = counts.setdefault(frame.keys[code], [{} for _ in range(frame.n)])
        per[p][int(reach)] = per[p].get(int(reach), 0) + n

    def step(a: str, b: str) -> dict[str, Any]:
        target = frame.model.position(b) or 0
        per = counts.get(a, [{} for _ in range(frame.n)])
        points = []
        total_c = total_v = 0
        for i in range(frame.n):
            cohort = sum(per[i].values())
            converted = sum(n for r, n in per[i].items() if r >= target)
            total_c += cohort
            total_v += converted
            points.append(
                {
                    "start": frame.bounds[i].isoformat(),
                    "cohort": cohort,
                    "converted": converted,
                    "rate": _rate(converted, cohort),
                }
            )
        return {
            "from": a,
            "to": b,
            "cohort": total_c,
            "converted": total_v,
            "rate": _rate(total_v, total_c),
            "periods": points,
        }

    main = frame.model.main_line
    return {
        "window_days": query.window_days,
        "steps": [step(a, b) for a, b in itertools.pairwise(main)],
        "cumulative": [step(main[0], b) for b in main[1:]],
    }


def _days(value: Any) -> float | None:
    return None if value is None else float(value) / _DAY_US


def _by_stage(frame: _Frame, rows: dict[int, Any]) -> dict[str, Any]:
    """Per-stage results keyed by stage, in the model's order."""
    order = [*frame.model.keys, *(k for k in frame.keys if k not in frame.model)]
    return {k: rows[frame.code(k)] for k in order if frame.code(k) in rows}


def _time_in_stage(con: duckdb.DuckDBPyConnection, frame: _Frame) -> dict[str, Any]:
    """Closed spans (entered the stage, left it) whose end falls in the range."""
    rows = con.execute(
        """
        SELECT tos, count(*), quantile_cont(next_us - at_us, [0.5, 0.9]) FROM ev
        WHERE has_next AND next_us >= ? AND next_us < ? GROUP BY tos
        """,
        [frame.bounds_us[0], frame.bounds_us[-1]],
    ).fetchall()
    return _by_stage(
        frame,
        {
            code: {"median_days": _days(q[0]), "p90_days": _days(q[1]), "exits": int(n)}
            for code, n, q in rows
        },
    )


def _ageing(con: duckdb.DuckDBPyConnection, frame: _Frame) -> dict[str, Any]:
    """The balance at ``as_of`` (the query's end), by how long each has sat in its stage
    (buckets by whole days: ``0-30`` is under 31 days)."""
    buckets = ", ".join(
        f"count(*) FILTER (WHERE age >= {lo * _DAY_US}"
        + ("" if hi is None else f" AND age < {(hi + 1) * _DAY_US}")
        + ")"
        for _, lo, hi in AGE_BUCKETS
    )
    rows = con.execute(
        f"""
        SELECT tos, count(*), quantile_cont(age, [0.5, 0.9]), {buckets}
        FROM (
            SELECT tos, ?::BIGINT - at_us AS age FROM ev
            WHERE at_us < ? AND (NOT has_next OR next_us >= ?)
        ) GROUP BY tos
        """,  # noqa: S608 (integers only)
        [frame.as_of_us] * 3,
    ).fetchall()
    return _by_stage(
        frame,
        {
            code: {
                "count": int(n),
                "median_days": _days(q[0]),
                "p90_days": _days(q[1]),
                "buckets": {
                    name: int(c) for (name, _, _), c in zip(AGE_BUCKETS, counts, strict=True)
                },
            }
            for code, n, q, *counts in rows
        },
    )


def _win_numbers(won: int, lost: int, won_amount: int, lost_amount: int) -> dict[str, Any]:
    return {
        "won": won,
        "lost": lost,
        "rate": _rate(won, won + lost),
        "won_amount": won_amount,
        "lost_amount": lost_amount,
        "amount_rate": _rate(won_amount, won_amount + lost_amount),
    }


def _role_code(frame: _Frame, role: Any) -> int:
    return frame.code(frame.model.by_role(role))


def _win_rate(con: duckdb.DuckDBPyConnection, frame: _Frame) -> dict[str, Any]:
    """Won and lost transitions in the range, by count and by amount (the transition's
    amount, else the entity's, else 0), per period and per segment value."""
    per = {
        p: (w, lo, wa, la)
        for p, w, lo, wa, la in con.execute(
            """
            SELECT p, count(*) FILTER (is_won), count(*) FILTER (NOT is_won),
                   coalesce(sum(amt) FILTER (is_won), 0), coalesce(sum(amt) FILTER (NOT is_won), 0)
            FROM wl GROUP BY p
            """
        ).fetchall()
    }
    totals = [sum(v[i] for v in per.values()) for i in range(4)]
    sets = ", ".join(f"({s})" for s in SEGMENTS)
    seg_rows = con.execute(
        f"""
        SELECT grouping({", ".join(SEGMENTS)}) AS g, {", ".join(SEGMENTS)},
               count(*) FILTER (is_won), count(*) FILTER (NOT is_won),
               coalesce(sum(amt) FILTER (is_won), 0), coalesce(sum(amt) FILTER (NOT is_won), 0)
        FROM wl GROUP BY GROUPING SETS ({sets})
        """  # noqa: S608 (fixed names and integers)
    ).fetchall()
    by_segment: dict[str, list[dict[str, Any]]] = {s: [] for s in SEGMENTS}
    width = len(SEGMENTS)
    for row in seg_rows:
        g = row[0]
        idx = next(i for i in range(width) if not g >> (width - 1 - i) & 1)
        by_segment[SEGMENTS[idx]].append(
            {"value": row[1 + idx], **_win_numbers(*(int(x) for x in row[1 + width :]))}
        )
    for values in by_segment.values():
        values.sort(key=lambda v: (-(v["won"] + v["lost"]), str(v["value"])))
    return {
        **_win_numbers(*(int(x) for x in totals)),
        "periods": [
            {"start": frame.bounds[i].isoformat(), **_win_numbers(*per.get(i, (0, 0, 0, 0)))}
            for i in range(frame.n)
        ],
        "by_segment": by_segment,
    }


def _cs_numbers(row: Sequence[int]) -> dict[str, Any]:
    renewals, churns, renewal_amount, prior_renewed, churn_amount, expansion, contraction = row
    base = prior_renewed + churn_amount
    return {
        "renewals": renewals,
        "churns": churns,
        "renewal_rate": _rate(renewals, renewals + churns),
        "churn_rate": _rate(churns, renewals + churns),
        "renewal_amount": renewal_amount,
        "churn_amount": churn_amount,
        "base_amount": base,
        "amount_renewal_rate": _rate(prior_renewed - contraction, base),
        "expansion_amount": expansion,
        "contraction_amount": contraction,
        "nrr": _rate(renewal_amount, base),
    }


def _customer_success(con: duckdb.DuckDBPyConnection, frame: _Frame) -> dict[str, Any]:
    """Renewals and churns in the range, by count and amount.

    The *contract amount* before a transition is the entity's last amount on an earlier
    transition (the won amount, a renewal's amount), else the entity's amount, else 0.  A
    renewal's amount is its own amount, else the contract amount before it (renewed flat);
    a churn loses the contract amount before it.
    """
    rows = con.execute(
        """
        SELECT p, count(*) FILTER (renewed), count(*) FILTER (NOT renewed),
               coalesce(sum(now) FILTER (renewed), 0),
               coalesce(sum(prior) FILTER (renewed), 0),
               coalesce(sum(prior) FILTER (NOT renewed), 0),
               coalesce(sum(greatest(now - prior, 0)) FILTER (renewed), 0),
               coalesce(sum(greatest(prior - now, 0)) FILTER (renewed), 0)
        FROM cs GROUP BY p
        """
    ).fetchall()
    per = {int(r[0]): tuple(int(x) for x in r[1:]) for r in rows}
    totals = tuple(sum(v[i] for v in per.values()) for i in range(7))
    return {
        **_cs_numbers(totals),
        "periods": [
            {"start": frame.bounds[i].isoformat(), **_cs_numbers(per.get(i, (0,) * 7))}
            for i in range(frame.n)
        ],
    }


# --- trend and bottleneck (shaping small results) ----------------------------------------


def _mature(frame: _Frame, query: MetricsQuery, i: int) -> bool:
    """Has every cohort member of period ``i`` had its full window by ``as_of``?"""
    return frame.bounds_us[i + 1] + query.window_days * _DAY_US <= frame.as_of_us


def _trend(frame: _Frame, query: MetricsQuery, result: dict[str, Any]) -> dict[str, Any]:
    """Every per-period metric as a series with its change, and the sudden changes.

    A point is *sudden* when at least ``FLAG_WINDOW`` earlier points exist and it lies
    further from their mean than both ``FLAG_SIGMAS`` standard deviations of them and
    ``FLAG_RELATIVE`` of the mean (conversion points only once their cohort is mature).
    """
    series: list[tuple[str, list[float | None], bool]] = []
    periods = result["periods"]
    for key in frame.model.keys:
        series.append((f"flow.{key}", [p["flow"].get(key, 0) for p in periods], False))
    for key in frame.model.keys:
        series.append((f"balance.{key}", [p["balance"].get(key, 0) for p in periods], False))
    for s in result["conversion"]["steps"]:
        series.append(
            (f"conversion.{s['from']}>{s['to']}", [pt["rate"] for pt in s["periods"]], True)
        )
    win = result["win_rate"]["periods"]
    series.append(("win_rate", [pt["rate"] for pt in win], False))
    series.append(("win_rate_amount", [pt["amount_rate"] for pt in win], False))
    cs = result["customer_success"]["periods"]
    for name in ("renewal_rate", "churn_rate", "nrr"):
        series.append((name, [pt[name] for pt in cs], False))
    out, flags = [], []
    for metric, values, needs_maturity in series:
        points = []
        for i, v in enumerate(values):
            prev = values[i - 1] if i > 0 else None
            change = None if v is None or prev is None else v - prev
            points.append({"start": frame.bounds[i].isoformat(), "value": v, "change": change})
            earlier = [x for x in values[max(0, i - FLAG_WINDOW) : i] if x is not None]
            if v is None or len(earlier) < FLAG_WINDOW:
                continue
            if needs_maturity and not _mature(frame, query, i):
                continue
            mean = sum(earlier) / len(earlier)
            sd = math.sqrt(sum((x - mean) ** 2 for x in earlier) / len(earlier))
            if abs(v - mean) > max(FLAG_SIGMAS * sd, FLAG_RELATIVE * abs(mean), 1e-9):
                flags.append(
                    {
                        "metric": metric,
                        "start": frame.bounds[i].isoformat(),
                        "value": v,
                        "baseline": mean,
                        "change": v - mean,
                    }
                )
        out.append({"metric": metric, "points": points})
    return {"series": out, "flags": flags}


def _bottleneck(
    frame: _Frame,
    query: MetricsQuery,
    conversion: dict[str, Any],
    configured: Mapping[tuple[str, str], float],
) -> dict[str, Any] | None:
    """The step-to-step conversion furthest below its target in the evaluated period.

    The evaluated period is the latest whose cohorts are mature (else the latest period);
    a step's target is the configured one, else its rate pooled over the
    ``TRAILING_PERIODS`` periods before (cohorts and conversions summed).
    """
    candidates = [i for i in range(frame.n) if _mature(frame, query, i)]
    mature = bool(candidates)
    if not candidates:
        candidates = list(range(frame.n))
    at = candidates[-1]
    earlier = candidates[:-1][-TRAILING_PERIODS:]
    considered = []
    for s in conversion["steps"]:
        point = s["periods"][at]
        if point["cohort"] < MIN_COHORT:
            continue
        if (s["from"], s["to"]) in configured:
            target, source = float(configured[(s["from"], s["to"])]), "configured"
        else:
            c = sum(s["periods"][i]["cohort"] for i in earlier)
            v = sum(s["periods"][i]["converted"] for i in earlier)
            if c == 0:
                continue
            target, source = v / c, "trailing_average"
        if target <= 0:
            continue
        rate = point["rate"]
        considered.append(
            {
                "from": s["from"],
                "to": s["to"],
                "rate": rate,
                "target": target,
                "target_source": source,
                "shortfall": target - rate,
                "relative_shortfall": 1 - rate / target,
                "cohort": point["cohort"],
                "converted": point["converted"],
            }
        )
    below = [c for c in considered if c["relative_shortfall"] > 0]
    if not below:
        return None
    worst = max(below, key=lambda c: (c["relative_shortfall"], c["cohort"]))
    start = frame.bounds[at].isoformat()
    model = frame.model
    a, b = model.stage(worst["from"]), model.stage(worst["to"])
    unit_en = "week" if query.period == "week" else "month"
    unit_ja = "週" if query.period == "week" else "月"
    src_en = (
        "the configured target"
        if worst["target_source"] == "configured"
        else (f"its average over the {len(earlier)} {unit_en}s before")
    )
    src_ja = (
        "設定した目標"
        if worst["target_source"] == "configured"
        else (f"直前{len(earlier)}{unit_ja}の平均")
    )
    why_en = (
        f"{a.label_en} → {b.label_en}: {worst['converted']} of {worst['cohort']} converted "
        f"within {query.window_days} days in the {unit_en} of {start} "
        f"({worst['rate']:.1%}), against {worst['target']:.1%} ({src_en}) — "
        f"{worst['relative_shortfall']:.0%} short, the largest shortfall of any step."
    )
    why_ja = (
        f"{a.label_ja}→{b.label_ja}：{start}の{unit_ja}に入った{worst['cohort']}件のうち"
        f"{query.window_days}日以内に進んだのは{worst['converted']}件（{worst['rate']:.1%}）で、"
        f"{src_ja}（{worst['target']:.1%}）を{worst['relative_shortfall']:.0%}下回っています。"
        "全ステップの中で最も大きな不足です。"
    )
    return {
        **worst,
        "period_start": start,
        "mature": mature,
        "why_ja": why_ja,
        "why_en": why_en,
        "steps": [
            {
                k: c[k]
                for k in (
                    "from",
                    "to",
                    "rate",
                    "target",
                    "target_source",
                    "relative_shortfall",
                    "cohort",
                )
            }
            for c in considered
        ],
    }
