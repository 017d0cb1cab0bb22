"""A naive, pure-Python restatement of the pipeline metrics (docs/crm/metrics.md).

Slow on purpose: every metric is the definition read aloud, entity by entity and period by
period, with no shared intermediate results.  The property tests hold ``crm.metrics`` equal
to it on random histories.  It also turns histories into the ``Events`` that ``compute``
reads.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pyarrow as pa

from tsunagu.crm.metrics import ENTITIES_SCHEMA, TRANSITIONS_SCHEMA, Events
from tsunagu.crm.stages import StageModel


@dataclass(frozen=True)
class Move:
    entity: int
    seq: int
    stage: str
    at: datetime
    amount: int | None = None


@dataclass(frozen=True)
class Entity:
    industry: str | None = None
    amount: int | None = None


def to_events(moves: Sequence[Move], entities: Sequence[Entity], stages: Sequence[str]) -> Events:
    """The moves as ``compute`` reads them (stage codes index ``stages``)."""
    code = {s: i for i, s in enumerate(stages)}
    transitions = pa.table(
        {
            "entity": pa.array([m.entity for m in moves], pa.int32()),
            "seq": pa.array([m.seq for m in moves], pa.int32()),
            "to_stage": pa.array([code[m.stage] for m in moves], pa.int16()),
            "at": pa.array([m.at for m in moves], pa.timestamp("us", tz="UTC")),
            "amount": pa.array([m.amount for m in moves], pa.int64()),
        },
        schema=TRANSITIONS_SCHEMA,
    )
    ents = pa.table(
        {
            "entity": pa.array(range(len(entities)), pa.int32()),
            "industry": pa.array([e.industry for e in entities], pa.string()),
            "size": pa.array([None] * len(entities), pa.string()),
            "channel": pa.array([None] * len(entities), pa.string()),
            "region": pa.array([None] * len(entities), pa.string()),
            "owner": pa.array([None] * len(entities), pa.string()),
            "amount": pa.array([e.amount for e in entities], pa.int64()),
        },
        schema=ENTITIES_SCHEMA,
    )
    return Events(transitions, ents, tuple(stages))


def boundaries(start: date, end: date, period: str, zone: str) -> list[tuple[date, datetime]]:
    """Period boundaries as (local date, UTC instant), walking day by day."""
    tz = ZoneInfo(zone)
    day = start
    while (period == "week" and day.weekday() != 0) or (period == "month" and day.day != 1):
        day -= timedelta(days=1)
    out = [day]
    while out[-1] < end:
        day = out[-1] + timedelta(days=1)
        while (period == "week" and day.weekday() != 0) or (period == "month" and day.day != 1):
            day += timedelta(days=1)
        out.append(day)
    return [(d, datetime.combine(d, time(0), tzinfo=tz).astimezone(UTC)) for d in out]


def _history(moves: Sequence[Move], entity: int) -> list[Move]:
    return sorted((m for m in moves if m.entity == entity), key=lambda m: m.seq)


def flow(moves: Sequence[Move], lo: datetime, hi: datetime) -> Counter[str]:
    return Counter(m.stage for m in moves if lo <= m.at < hi)


def balance(moves: Sequence[Move], at: datetime) -> Counter[str]:
    out: Counter[str] = Counter()
    for entity in {m.entity for m in moves}:
        before = [m for m in _history(moves, entity) if m.at < at]
        if before:
            out[before[-1].stage] += 1
    return out


def conversion(
    moves: Sequence[Move],
    model: StageModel,
    a: str,
    b: str,
    lo: datetime,
    hi: datetime,
    window_days: int,
) -> tuple[int, int]:
    """(cohort, converted) of the entities that entered ``a`` in ``[lo, hi)``."""
    target = model.position(b)
    assert target is not None
    cohort = converted = 0
    for entity in {m.entity for m in moves}:
        history = _history(moves, entity)
        entries = [m for m in history if m.stage == a and lo <= m.at < hi]
        if not entries:
            continue
        cohort += 1
        t = entries[0].at
        later = history[history.index(entries[0]) + 1 :]  # after it, even at the same instant
        if any(
            m.at <= t + timedelta(days=window_days)
            and (pos := model.position(m.stage) if m.stage in model else None) is not None
            and pos >= target
            for m in later
        ):
            converted += 1
    return cohort, converted


def amount_of(move: Move, entities: Sequence[Entity]) -> int:
    if move.amount is not None:
        return move.amount
    return entities[move.entity].amount or 0


def win_rate(
    moves: Sequence[Move], entities: Sequence[Entity], lo: datetime, hi: datetime
) -> tuple[int, int, int, int]:
    """(won, lost, won amount, lost amount) of the moves into won / lost in ``[lo, hi)``."""
    won = [m for m in moves if m.stage == "won" and lo <= m.at < hi]
    lost = [m for m in moves if m.stage == "lost" and lo <= m.at < hi]
    return (
        len(won),
        len(lost),
        sum(amount_of(m, entities) for m in won),
        sum(amount_of(m, entities) for m in lost),
    )


def quantile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between the closest ranks (as DuckDB's ``quantile_cont``)."""
    xs = sorted(values)
    pos = q * (len(xs) - 1)
    below = int(pos)
    above = min(below + 1, len(xs) - 1)
    return xs[below] + (xs[above] - xs[below]) * (pos - below)


def time_in_stage(moves: Sequence[Move], lo: datetime, hi: datetime) -> dict[str, list[float]]:
    """Days spent in each closed span (stage entered, then left) that ended in ``[lo, hi)``."""
    out: dict[str, list[float]] = {}
    for entity in {m.entity for m in moves}:
        history = _history(moves, entity)
        for here, after in itertools.pairwise(history):
            if lo <= after.at < hi:
                days = (after.at - here.at).total_seconds() / 86_400
                out.setdefault(here.stage, []).append(days)
    return out


def ageing(moves: Sequence[Move], as_of: datetime) -> dict[str, list[float]]:
    """Days each entity has sat in its stage at ``as_of`` (its latest move before it)."""
    out: dict[str, list[float]] = {}
    for entity in {m.entity for m in moves}:
        before = [m for m in _history(moves, entity) if m.at < as_of]
        if before:
            days = (as_of - before[-1].at).total_seconds() / 86_400
            out.setdefault(before[-1].stage, []).append(days)
    return out


def flows(moves: Sequence[Move], lo: datetime, hi: datetime) -> Counter[tuple[str | None, str]]:
    """Moves in ``[lo, hi)`` counted by (the stage left, the stage entered)."""
    out: Counter[tuple[str | None, str]] = Counter()
    for entity in {m.entity for m in moves}:
        previous: str | None = None
        for m in _history(moves, entity):
            if lo <= m.at < hi:
                out[(previous, m.stage)] += 1
            previous = m.stage
    return out


def customer_success(
    moves: Sequence[Move], entities: Sequence[Entity], lo: datetime, hi: datetime
) -> dict[str, int]:
    """Renewals and churns in ``[lo, hi)`` with the amounts of docs/crm/metrics.md."""
    out = dict.fromkeys(
        ("renewals", "churns", "renewal_amount", "churn_amount", "expansion", "contraction"), 0
    )
    for entity in {m.entity for m in moves}:
        history = _history(moves, entity)
        for i, m in enumerate(history):
            if m.stage not in ("renewal", "churned") or not lo <= m.at < hi:
                continue
            earlier = [x.amount for x in history[:i] if x.amount is not None]
            before = earlier[-1] if earlier else (entities[entity].amount or 0)
            if m.stage == "churned":
                out["churns"] += 1
                out["churn_amount"] += before
                continue
            now = m.amount if m.amount is not None else before
            out["renewals"] += 1
            out["renewal_amount"] += now
            out["expansion"] += max(now - before, 0)
            out["contraction"] += max(before - now, 0)
    return out
