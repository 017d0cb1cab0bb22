"""A clean-room question, parsed strictly from JSON and checked against the analysis rules.

The question is data, never SQL: measures and dimensions are names from a fixed whitelist,
filters are lists of values or a date range.  :func:`parse_query` refuses anything else — ids,
names, contact data, raw rows, unknown keys or columns, SQL text — with a :class:`QueryRefused`
whose message says what to ask instead.  :func:`check_query` then applies one agreement's
rules (only the allowed dimensions, measures and filters; noise where required).

JSON form::

    {"measures": ["persons", "amount_sum"], "dimensions": ["category", "age_band"],
     "filters": {"category": ["飲料"], "prefecture": ["東京都"],
                 "period": {"start": "2026-01-05", "end": "2026-03-29"}},
     "promotion": {"start": "2026-02-02", "end": "2026-02-15"}, "noise": true}

Periods and promotion windows are whole ISO weeks (Monday to Sunday) so that two of them
differ by at least a week,
which blunts differencing between overlapping questions (docs/linkage/cleanroom.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from tsunagu.cleanroom.errors import QueryRefused
from tsunagu.linkage.rules import DIMENSIONS, MEASURES, AnalysisRules

#: names that would single out a person or an order: refused as row-level output
ROW_LEVEL: frozenset[str] = frozenset(
    {
        "pid",
        "person",
        "person_id",
        "id",
        "customer_id",
        "member_id",
        "order_id",
        "order",
        "name",
        "full_name",
        "family_name",
        "given_name",
        "family_name_kana",
        "given_name_kana",
        "full_name_kana",
        "email",
        "address",
        "address_key",
        "phone",
        "postal_code",
        "birth_date",
        "ordered_at",
        "amount",
        "row",
        "rows",
        "raw",
        "*",
    }
)
_TOP_KEYS = frozenset({"measures", "dimensions", "filters", "promotion", "noise"})
_SQL_KEYS = frozenset({"sql", "query", "select", "where", "raw_sql", "expression"})
_MAX_VALUES = 50
_MAX_VALUE_LENGTH = 100

_ROW_LEVEL_MESSAGE = (
    "The clean room never returns individual people or orders. '{name}' would identify a "
    "person or an order, so it cannot be a dimension or a measure. Ask for counts or sums "
    "(persons, orders, amount_sum, amount_avg) by allowed dimensions instead."
)


@dataclass(frozen=True)
class Period:
    """An inclusive date range."""

    start: date
    end: date


@dataclass(frozen=True)
class QuerySpec:
    """One aggregate question."""

    measures: tuple[str, ...]
    dimensions: tuple[str, ...] = ()
    categories: tuple[str, ...] | None = None
    prefectures: tuple[str, ...] | None = None
    period: Period | None = None
    promotion: Period | None = None
    noise: bool = False

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str) -> QuerySpec:
        """Same as :func:`parse_query`."""
        return parse_query(data)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``parse_query(to_dict())`` gives the same question back)."""
        filters: dict[str, Any] = {}
        if self.categories is not None:
            filters["category"] = list(self.categories)
        if self.prefectures is not None:
            filters["prefecture"] = list(self.prefectures)
        if self.period is not None:
            filters["period"] = {
                "start": self.period.start.isoformat(),
                "end": self.period.end.isoformat(),
            }
        out: dict[str, Any] = {
            "measures": list(self.measures),
            "dimensions": list(self.dimensions),
            "filters": filters,
            "noise": self.noise,
        }
        if self.promotion is not None:
            out["promotion"] = {
                "start": self.promotion.start.isoformat(),
                "end": self.promotion.end.isoformat(),
            }
        return out


def _refuse_name(name: str, where: str) -> QueryRefused:
    if name.strip().lower() in ROW_LEVEL:
        return QueryRefused(_ROW_LEVEL_MESSAGE.format(name=name), reason="row_level")
    allowed = DIMENSIONS if where == "dimension" else MEASURES
    return QueryRefused(
        f"'{name}' is not a {where} the clean room knows. Allowed {where}s: "
        f"{', '.join(sorted(allowed))}.",
        reason="unknown_column",
    )


def _names(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise QueryRefused(f"'{where}s' must be a list of names.", reason="malformed")
    names: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise QueryRefused(f"'{where}s' must be a list of names.", reason="malformed")
        allowed = DIMENSIONS if where == "dimension" else MEASURES
        if item not in allowed:
            raise _refuse_name(item, where)
        if item in names:
            raise QueryRefused(f"The {where} '{item}' is listed twice.", reason="malformed")
        names.append(item)
    return tuple(names)


def _date(value: Any, what: str) -> date:
    if not isinstance(value, str):
        raise QueryRefused(f"'{what}' must be a date written YYYY-MM-DD.", reason="malformed")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise QueryRefused(
            f"'{what}' must be a date written YYYY-MM-DD.", reason="malformed"
        ) from None


def _period(value: Any, what: str) -> Period:
    if not isinstance(value, Mapping) or set(value) != {"start", "end"}:
        raise QueryRefused(
            f'\'{what}\' must be {{"start": "YYYY-MM-DD", "end": "YYYY-MM-DD"}}.',
            reason="malformed",
        )
    start = _date(value["start"], f"{what}.start")
    end = _date(value["end"], f"{what}.end")
    if end < start:
        raise QueryRefused(f"'{what}' ends before it starts.", reason="malformed")
    return Period(start, end)


def _values(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple) or not value:
        raise QueryRefused(
            f"The '{what}' filter must be a non-empty list of values.", reason="malformed"
        )
    if len(value) > _MAX_VALUES:
        raise QueryRefused(
            f"The '{what}' filter may name at most {_MAX_VALUES} values.", reason="malformed"
        )
    if not all(isinstance(v, str) and 0 < len(v) <= _MAX_VALUE_LENGTH for v in value):
        raise QueryRefused(f"The '{what}' filter must list short text values.", reason="malformed")
    return tuple(dict.fromkeys(value))


def parse_query(data: Mapping[str, Any] | str) -> QuerySpec:
    """A :class:`QuerySpec` from its JSON form (a mapping or a JSON string).

    Raises :class:`QueryRefused` for anything that is not an aggregate question over the
    whitelisted dimensions and measures.
    """
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            raise QueryRefused(
                "The query must be JSON such as "
                '{"measures": ["persons"], "dimensions": ["age_band"]}. SQL is not accepted.',
                reason="malformed",
            ) from None
    if not isinstance(data, Mapping):
        raise QueryRefused("The query must be a JSON object.", reason="malformed")
    keys = {str(k) for k in data}
    if keys & _SQL_KEYS:
        raise QueryRefused(
            "The clean room does not run SQL or expressions. Describe the question with "
            "'measures', 'dimensions' and 'filters'; the clean room writes the SQL itself.",
            reason="sql_not_allowed",
        )
    if unknown := keys - _TOP_KEYS:
        name = sorted(unknown)[0]
        if name.lower() in ROW_LEVEL:
            raise QueryRefused(_ROW_LEVEL_MESSAGE.format(name=name), reason="row_level")
        raise QueryRefused(
            f"Unknown key '{name}' in the query. Allowed keys: {', '.join(sorted(_TOP_KEYS))}.",
            reason="unknown_column",
        )
    measures = _names(data.get("measures"), "measure")
    if not measures:
        raise QueryRefused(
            "A query must ask for at least one aggregate measure (persons, orders, amount_sum "
            "or amount_avg). Row-level output is never returned.",
            reason="row_level",
        )
    dimensions = _names(data.get("dimensions"), "dimension")
    filters = data.get("filters") or {}
    if not isinstance(filters, Mapping):
        raise QueryRefused("'filters' must be a JSON object.", reason="malformed")
    for key in filters:
        if key not in ("category", "prefecture", "period"):
            if str(key).lower() in ROW_LEVEL:
                raise QueryRefused(
                    f"Filtering on '{key}' would single out people or orders; the clean room "
                    "allows filters on category, prefecture and period only.",
                    reason="row_level",
                )
            raise QueryRefused(
                f"Unknown filter '{key}'. Allowed filters: category, prefecture, period.",
                reason="unknown_column",
            )
    period = _period(filters["period"], "period") if "period" in filters else None
    if period is not None and (period.start.isoweekday() != 1 or period.end.isoweekday() != 7):
        raise QueryRefused(
            "A period must cover whole weeks: start on a Monday and end on a Sunday. Finer "
            "periods would let two overlapping questions be subtracted to isolate a few "
            "people.",
            reason="period_not_weeks",
        )
    promotion = _period(data["promotion"], "promotion") if data.get("promotion") else None
    if promotion is not None and (
        promotion.start.isoweekday() != 1 or promotion.end.isoweekday() != 7
    ):
        raise QueryRefused(
            "A promotion window must cover whole weeks: start on a Monday and end on a Sunday. "
            "Shifting a window by a day would let two questions be subtracted to reveal one "
            "day's spending.",
            reason="promotion_not_weeks",
        )
    if "promotion_period" in dimensions and promotion is None:
        raise QueryRefused(
            "The 'promotion_period' dimension needs a 'promotion' window "
            '{"start": "YYYY-MM-DD", "end": "YYYY-MM-DD"}.',
            reason="malformed",
        )
    noise = data.get("noise", False)
    if not isinstance(noise, bool):
        raise QueryRefused("'noise' must be true or false.", reason="malformed")
    return QuerySpec(
        measures=measures,
        dimensions=dimensions,
        categories=_values(filters["category"], "category") if "category" in filters else None,
        prefectures=_values(filters["prefecture"], "prefecture")
        if "prefecture" in filters
        else None,
        period=period,
        promotion=promotion,
        noise=noise,
    )


def check_query(spec: QuerySpec, rules: AnalysisRules) -> None:
    """Raise :class:`QueryRefused` unless the agreement's rules allow this question."""
    if denied := [d for d in spec.dimensions if d not in rules.dimensions]:
        raise QueryRefused(
            f"This agreement does not allow results by {', '.join(denied)}. Allowed "
            f"dimensions: {', '.join(sorted(rules.dimensions)) or 'none'}.",
            reason="dimension_not_allowed",
        )
    if denied := [m for m in spec.measures if m not in rules.measures]:
        raise QueryRefused(
            f"This agreement does not allow the measure {', '.join(denied)}. Allowed "
            f"measures: {', '.join(sorted(rules.measures)) or 'none'}.",
            reason="measure_not_allowed",
        )
    used = {
        name
        for name, value in (
            ("category", spec.categories),
            ("prefecture", spec.prefectures),
            ("period", spec.period),
        )
        if value is not None
    }
    if denied_filters := sorted(used - rules.filters):
        raise QueryRefused(
            f"This agreement does not allow filtering by {', '.join(denied_filters)}.",
            reason="filter_not_allowed",
        )
    if (
        spec.categories is not None
        and rules.filter_categories is not None
        and (outside := [c for c in spec.categories if c not in rules.filter_categories])
    ):
        raise QueryRefused(
            f"The category filter may only name the agreement's categories; "
            f"{len(outside)} value(s) are not among them.",
            reason="filter_value_not_allowed",
        )
    if rules.require_noise and not spec.noise:
        raise QueryRefused(
            "This agreement has a privacy budget, so every question must be answered with "
            'differential-privacy noise: send "noise": true. Exact answers next to noisy ones '
            "would undo the noise.",
            reason="noise_required",
        )
