"""The promotion report of the clean room: uplift among members vs non-members, by segment.

A maker runs a promotion from ``start`` to ``end``.  Did its members buy more during the
promotion than before — and more than comparable customers who are not members?  The report
answers with a difference-in-differences per member segment:

    change(group)  = per-person-per-week value during − the same before
    uplift(segment) = change(members) − change(non-members)

where the value is the amount (yen) or the number of orders per person and week, and
"per person" divides by the group's persons who bought anything in the whole window (before
and during), so both periods share one denominator.  The "before" period is as many whole
weeks as the promotion spans, ending the day before the promotion starts; the query period
runs from its Monday to the promotion's last Sunday.  The clean room accepts only whole weeks
(Monday to Sunday) for periods and promotion windows alike: a window shifted by one day would
otherwise let two answers be subtracted to reveal one day's spending.

Every number comes from three clean-room questions asked through
:func:`tsunagu.cleanroom.service.ask_logged` — so each is checked against the agreement,
ledgered with its set of persons, recorded as an APPI provision and charged to the privacy
budget when noise is on; cells below the minimum group size arrive suppressed and every
figure that depends on one is ``None`` (shown as "—"):

1. ``segment × member × promotion_period``: persons, orders, amount_sum;
2. ``segment × member`` over the whole window: persons (the denominators);
3. ``week × member``: persons, orders, amount_sum (the weekly lines).

:func:`compute` is pure (cells in, report out) and holds the arithmetic; :func:`run` asks.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy.orm import Session

from tsunagu.cleanroom import service
from tsunagu.core.errors import InvalidInput
from tsunagu.core.settings import Settings
from tsunagu.identity.service import Actor

Measure = Literal["amount", "orders"]
MEASURES: tuple[Measure, ...] = ("amount", "orders")
MEMBER = "member"
NON_MEMBER = "non_member"
#: the dimensions the report needs the agreement to allow
NEEDED_DIMENSIONS = ("segment", "member", "promotion_period", "week")
#: the longest promotion the report accepts (the before period is as long again)
MAX_WEEKS = 26


@dataclass(frozen=True)
class Window:
    """A promotion and the whole-week query period around it."""

    start: date
    end: date
    #: Monday of the first "before" week
    period_start: date
    #: Sunday of the promotion's last week
    period_end: date

    @property
    def before_end(self) -> date:
        """The last day of the "before" period (the day before the promotion)."""
        return self.start - timedelta(days=1)

    @property
    def before_days(self) -> int:
        return (self.start - self.period_start).days

    @property
    def during_days(self) -> int:
        return (self.end - self.start).days + 1

    def spec(self, categories: Sequence[str] = ()) -> dict[str, Any]:
        """The filters and promotion shared by the report's questions (``categories``:
        only orders of these product categories; empty: all)."""
        filters: dict[str, Any] = {
            "period": {"start": self.period_start.isoformat(), "end": self.period_end.isoformat()}
        }
        if categories:
            filters["category"] = list(categories)
        return {
            "filters": filters,
            "promotion": {"start": self.start.isoformat(), "end": self.end.isoformat()},
        }


def window(start: date, end: date) -> Window:
    """The report's window for a promotion from ``start`` to ``end`` (inclusive)."""
    if end < start:
        raise InvalidInput("the promotion ends before it starts")
    if start.isoweekday() != 1 or end.isoweekday() != 7:
        raise InvalidInput(
            "a promotion window must cover whole weeks: start on a Monday and end on a Sunday"
        )
    first_monday = start - timedelta(days=start.weekday())
    period_end = end + timedelta(days=6 - end.weekday())
    weeks = ((period_end - first_monday).days + 1) // 7
    if weeks > MAX_WEEKS:
        raise InvalidInput(f"a promotion may span at most {MAX_WEEKS} weeks")
    return Window(
        start=start,
        end=end,
        period_start=first_monday - timedelta(weeks=weeks),
        period_end=period_end,
    )


def default_window(today: date) -> tuple[date, date]:
    """The promotion the page suggests when none was asked about before: the last two
    whole weeks before ``today``."""
    end = today - timedelta(days=today.weekday() + 1)
    return end - timedelta(days=13), end


@dataclass(frozen=True)
class LastPromotion:
    start: date
    end: date
    categories: tuple[str, ...]


def last_promotion(specs: Sequence[Mapping[str, Any]]) -> LastPromotion | None:
    """The promotion window (and category filter) of the newest logged question that named
    one — e.g. the demo's promotion — from query-log specs, newest first."""
    for spec in specs:
        promo = spec.get("promotion")
        if not isinstance(promo, Mapping):
            continue
        try:
            start, end = date.fromisoformat(promo["start"]), date.fromisoformat(promo["end"])
        except (KeyError, TypeError, ValueError):
            continue
        cats = (spec.get("filters") or {}).get("category") or ()
        return LastPromotion(start, end, tuple(str(c) for c in cats))
    return None


@dataclass(frozen=True)
class GroupFigures:
    """One group (members or non-members) of one segment."""

    persons: int | None
    before: float | None
    during: float | None

    @property
    def change(self) -> float | None:
        if self.before is None or self.during is None:
            return None
        return self.during - self.before


@dataclass(frozen=True)
class SegmentRow:
    segment: str
    members: GroupFigures
    non_members: GroupFigures

    @property
    def uplift(self) -> float | None:
        a, b = self.members.change, self.non_members.change
        if a is None or b is None:
            return None
        return a - b


@dataclass(frozen=True)
class WeekPoint:
    """A week's value per purchasing person, for members and non-members."""

    week: str
    members: float | None
    non_members: float | None


@dataclass(frozen=True)
class PromotionReport:
    window: Window
    measure: Measure
    segments: list[SegmentRow]
    weeks: list[WeekPoint]
    #: cells withheld by the clean room over the three questions
    suppressed: int
    #: ε spent by the three questions
    epsilon_spent: float
    #: the query log ids of the questions asked
    query_ids: list[uuid.UUID]


def _value(cell: Mapping[str, Any] | None, measure: Measure) -> float | None:
    if cell is None:
        return None
    raw = cell.get("amount_sum" if measure == "amount" else "orders")
    return None if raw is None else float(raw)


def _per_person_week(total: float | None, persons: int | None, days: int) -> float | None:
    if total is None or not persons or days <= 0:
        return None
    return total / persons / (days / 7)


def compute(
    win: Window,
    measure: Measure,
    *,
    by_period: Sequence[Mapping[str, Any]],
    groups: Sequence[Mapping[str, Any]],
    by_week: Sequence[Mapping[str, Any]],
    suppressed: int = 0,
    epsilon_spent: float = 0.0,
    query_ids: Sequence[uuid.UUID] = (),
) -> PromotionReport:
    """The report from the released cells of the three questions (pure).

    A group with no purchases in a period (its cell absent but the group released) counts
    as zero in that period; a group whose own cell was withheld gives ``None``.
    """
    if measure not in MEASURES:
        raise InvalidInput("measure: amount or orders")
    size = {(str(c["segment"]), str(c["member"])): int(c["persons"]) for c in groups}
    cells = {
        (str(c["segment"]), str(c["member"]), str(c["promotion_period"])): c for c in by_period
    }
    segments = sorted({s for s, _ in size} | {s for s, _, _ in cells})

    def figures(segment: str, member: str) -> GroupFigures:
        persons = size.get((segment, member))
        values: dict[str, float | None] = {}
        for period, days in (("before", win.before_days), ("during", win.during_days)):
            cell = cells.get((segment, member, period))
            total = _value(cell, measure) if cell is not None else (0.0 if persons else None)
            values[period] = _per_person_week(total, persons, days)
        return GroupFigures(persons=persons, before=values["before"], during=values["during"])

    rows = [
        SegmentRow(segment=s, members=figures(s, MEMBER), non_members=figures(s, NON_MEMBER))
        for s in segments
    ]
    weekly: dict[str, dict[str, float | None]] = {}
    for c in by_week:
        persons = int(c["persons"]) if c.get("persons") else 0
        total = _value(c, measure)
        weekly.setdefault(str(c["week"]), {})[str(c["member"])] = (
            None if total is None or not persons else total / persons
        )
    weeks = [
        WeekPoint(week=w, members=v.get(MEMBER), non_members=v.get(NON_MEMBER))
        for w, v in sorted(weekly.items())
    ]
    return PromotionReport(
        window=win,
        measure=measure,
        segments=rows,
        weeks=weeks,
        suppressed=suppressed,
        epsilon_spent=epsilon_spent,
        query_ids=list(query_ids),
    )


def run(
    session: Session,
    settings: Settings,
    pseudonym_key: bytes,
    *,
    collaboration_id: uuid.UUID,
    actor: Actor,
    start: date,
    end: date,
    measure: Measure = "amount",
    noise: bool = False,
    categories: Sequence[str] = (),
) -> PromotionReport:
    """Ask the clean room the report's three questions and compute the report.

    Raises what the clean room raises (``QueryRefused`` when the agreement does not allow
    a needed dimension or measure, ``BudgetExhausted``, ``CollaborationNotActive`` …)."""
    win = window(start, end)
    wanted = "amount_sum" if measure == "amount" else "orders"
    questions = (
        {"measures": ["persons", wanted], "dimensions": ["segment", "member", "promotion_period"]},
        {"measures": ["persons"], "dimensions": ["segment", "member"]},
        {"measures": ["persons", wanted], "dimensions": ["week", "member"]},
    )
    answers = [
        service.ask_logged(
            session,
            settings,
            pseudonym_key,
            collaboration_id=collaboration_id,
            actor=actor,
            spec_json={**q, **win.spec(categories), "noise": noise},
        )
        for q in questions
    ]
    return compute(
        win,
        measure,
        by_period=answers[0].result.cells,
        groups=answers[1].result.cells,
        by_week=answers[2].result.cells,
        suppressed=sum(a.result.suppressed for a in answers),
        epsilon_spent=sum(a.result.epsilon_spent for a in answers),
        query_ids=[a.query.id for a in answers],
    )


__all__ = [
    "MEASURES",
    "NEEDED_DIMENSIONS",
    "GroupFigures",
    "LastPromotion",
    "PromotionReport",
    "SegmentRow",
    "WeekPoint",
    "Window",
    "compute",
    "default_window",
    "last_promotion",
    "run",
    "window",
]
