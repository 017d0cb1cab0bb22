"""Parsing a clean-room question and checking it against the rules: what is refused, and how."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tsunagu.cleanroom.errors import QueryRefused
from tsunagu.cleanroom.query import Period, check_query, parse_query
from tsunagu.linkage.rules import AnalysisRules

RULES = AnalysisRules(
    dimensions=frozenset({"category", "age_band", "promotion_period"}),
    measures=frozenset({"persons", "amount_sum"}),
    filters=frozenset({"category", "period"}),
)


def refusal(data: Any) -> QueryRefused:
    with pytest.raises(QueryRefused) as refused:
        parse_query(data)
    return refused.value


class TestParseQuery:
    def test_reads_the_json_form(self) -> None:
        spec = parse_query(
            '{"measures": ["persons"], "dimensions": ["category"], '
            '"filters": {"category": ["飲料"], "period": {"start": "2026-01-05", '
            '"end": "2026-01-18"}}, "noise": true}'
        )
        assert spec.measures == ("persons",)
        assert spec.categories == ("飲料",)
        assert spec.period == Period(date(2026, 1, 5), date(2026, 1, 18))
        assert spec.noise is True

    def test_round_trips_through_to_dict(self) -> None:
        spec = parse_query(
            {
                "measures": ["persons", "amount_sum"],
                "dimensions": ["promotion_period"],
                "promotion": {"start": "2026-02-02", "end": "2026-02-15"},
            }
        )
        assert parse_query(spec.to_dict()) == spec


class TestRowLevelRefusals:
    @pytest.mark.parametrize("name", ["pid", "order_id", "email", "phone", "address", "name"])
    def test_identifier_as_dimension_is_refused_as_row_level(self, name: str) -> None:
        refused = refusal({"measures": ["persons"], "dimensions": [name]})
        assert refused.reason == "row_level"
        assert "never returns individual people or orders" in refused.message
        assert refused.status_code == 422

    def test_identifier_as_measure_is_refused_as_row_level(self) -> None:
        assert refusal({"measures": ["amount"]}).reason == "row_level"

    def test_query_without_an_aggregate_measure_is_refused(self) -> None:
        refused = refusal({"measures": [], "dimensions": ["category"]})
        assert refused.reason == "row_level"
        assert "at least one aggregate measure" in refused.message

    def test_asking_for_raw_rows_is_refused(self) -> None:
        assert refusal({"measures": ["persons"], "rows": True}).reason == "row_level"

    def test_filter_on_an_identifier_is_refused(self) -> None:
        refused = refusal({"measures": ["persons"], "filters": {"pid": ["abc"]}})
        assert refused.reason == "row_level"


class TestOtherRefusals:
    def test_sql_is_refused(self) -> None:
        refused = refusal({"sql": "SELECT * FROM cr_orders"})
        assert refused.reason == "sql_not_allowed"

    def test_text_that_is_not_json_is_refused(self) -> None:
        assert refusal("SELECT * FROM cr_orders").reason == "malformed"

    def test_unknown_column_is_refused_with_the_allowed_list(self) -> None:
        refused = refusal({"measures": ["persons"], "dimensions": ["colour"]})
        assert refused.reason == "unknown_column"
        assert "age_band" in refused.message

    def test_unknown_key_is_refused(self) -> None:
        assert refusal({"measures": ["persons"], "limit": 10}).reason == "unknown_column"

    def test_period_not_in_whole_weeks_is_refused(self) -> None:
        refused = refusal(
            {
                "measures": ["persons"],
                "filters": {"period": {"start": "2026-01-06", "end": "2026-01-18"}},
            }
        )
        assert refused.reason == "period_not_weeks"

    def test_promotion_window_shifted_by_a_day_is_refused(self) -> None:
        refused = refusal(
            {
                "measures": ["persons"],
                "dimensions": ["promotion_period"],
                "promotion": {"start": "2026-02-03", "end": "2026-02-16"},
            }
        )
        assert refused.reason == "promotion_not_weeks"

    def test_promotion_window_shorter_than_a_week_is_refused(self) -> None:
        refused = refusal(
            {
                "measures": ["persons"],
                "dimensions": ["promotion_period"],
                "promotion": {"start": "2026-02-02", "end": "2026-02-06"},
            }
        )
        assert refused.reason == "promotion_not_weeks"

    def test_promotion_period_without_a_window_is_refused(self) -> None:
        assert refusal({"measures": ["persons"], "dimensions": ["promotion_period"]}).reason == (
            "malformed"
        )

    def test_injection_in_a_filter_value_stays_a_value(self) -> None:
        spec = parse_query({"measures": ["persons"], "filters": {"category": ["x'); DROP--"]}})
        assert spec.categories == ("x'); DROP--",)


class TestCheckQuery:
    def test_dimension_outside_the_agreement_is_refused(self) -> None:
        spec = parse_query({"measures": ["persons"], "dimensions": ["prefecture"]})
        with pytest.raises(QueryRefused, match="does not allow results by prefecture"):
            check_query(spec, RULES)

    def test_measure_outside_the_agreement_is_refused(self) -> None:
        spec = parse_query({"measures": ["orders"]})
        with pytest.raises(QueryRefused, match="measure orders"):
            check_query(spec, RULES)

    def test_filter_outside_the_agreement_is_refused(self) -> None:
        spec = parse_query({"measures": ["persons"], "filters": {"prefecture": ["東京都"]}})
        with pytest.raises(QueryRefused, match="filtering by prefecture"):
            check_query(spec, RULES)

    def test_agreement_requiring_noise_refuses_a_query_without(self) -> None:
        rules = AnalysisRules(
            dimensions=frozenset(),
            measures=frozenset({"persons"}),
            epsilon_per_query=1.0,
            require_noise=True,
        )
        with pytest.raises(QueryRefused, match="must be answered with differential-privacy"):
            check_query(parse_query({"measures": ["persons"]}), rules)

    def test_allowed_query_passes(self) -> None:
        spec = parse_query({"measures": ["persons"], "dimensions": ["category", "age_band"]})
        check_query(spec, RULES)
        assert spec.dimensions == ("category", "age_band")
