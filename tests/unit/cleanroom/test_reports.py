"""The promotion report's arithmetic (``cleanroom.reports``): the whole-week window around a
promotion, per-person-per-week values, difference in differences, withheld cells."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tsunagu.cleanroom import reports
from tsunagu.core.errors import InvalidInput

WINDOW = reports.window(date(2026, 3, 2), date(2026, 3, 15))


def cells(
    values: dict[tuple[str, str, str], float], sizes: dict[tuple[str, str], int]
) -> dict[str, Any]:
    return {
        "by_period": [
            {"segment": s, "member": m, "promotion_period": p, "persons": 10, "amount_sum": v}
            for (s, m, p), v in values.items()
        ],
        "groups": [{"segment": s, "member": m, "persons": n} for (s, m), n in sizes.items()],
        "by_week": [],
    }


class TestWindow:
    def test_the_before_period_is_as_many_whole_weeks_as_the_promotion(self) -> None:
        assert (WINDOW.period_start, WINDOW.period_end) == (date(2026, 2, 16), date(2026, 3, 15))

    def test_a_promotion_mid_week_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="whole weeks"):
            reports.window(date(2026, 3, 4), date(2026, 3, 12))

    def test_a_promotion_shifted_by_one_day_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="Monday"):
            reports.window(date(2026, 3, 3), date(2026, 3, 16))

    def test_a_promotion_shorter_than_a_week_is_refused(self) -> None:
        with pytest.raises(InvalidInput):
            reports.window(date(2026, 3, 2), date(2026, 3, 5))

    def test_the_default_window_is_the_last_two_whole_weeks(self) -> None:
        assert reports.default_window(date(2026, 11, 27)) == (date(2026, 11, 9), date(2026, 11, 22))


class TestCompute:
    def test_uplift_is_the_members_change_minus_the_non_members_change(self) -> None:
        report = reports.compute(
            WINDOW,
            "amount",
            **cells(
                {
                    ("a", "member", "before"): 20_000,
                    ("a", "member", "during"): 32_000,
                    ("a", "non_member", "before"): 20_000,
                    ("a", "non_member", "during"): 22_000,
                },
                {("a", "member"): 10, ("a", "non_member"): 10},
            ),
        )
        (row,) = report.segments
        assert (row.members.before, row.members.during) == (1000, 1600)
        assert row.uplift == pytest.approx(500)

    def test_a_withheld_group_gives_no_uplift(self) -> None:
        report = reports.compute(
            WINDOW,
            "amount",
            **cells({("a", "member", "before"): 20_000}, {("a", "member"): 10}),
        )
        (row,) = report.segments
        assert row.non_members.change is None
        assert row.uplift is None

    def test_a_released_group_without_purchases_in_a_period_counts_zero(self) -> None:
        report = reports.compute(
            WINDOW,
            "amount",
            **cells({("a", "member", "during"): 20_000}, {("a", "member"): 10}),
        )
        assert report.segments[0].members.before == 0

    @given(
        before=st.floats(0, 1e6),
        during=st.floats(0, 1e6),
        shift=st.floats(0, 1e6),
    )
    def test_a_change_common_to_both_groups_leaves_the_uplift_at_zero(
        self, before: float, during: float, shift: float
    ) -> None:
        report = reports.compute(
            WINDOW,
            "orders",
            by_period=[
                {"segment": "a", "member": m, "promotion_period": p, "persons": 5, "orders": v}
                for m in ("member", "non_member")
                for p, v in (("before", before), ("during", during + shift))
            ],
            groups=[{"segment": "a", "member": m, "persons": 5} for m in ("member", "non_member")],
            by_week=[],
        )
        assert report.segments[0].uplift == pytest.approx(0, abs=1e-6)


class TestLastPromotion:
    def test_the_newest_question_with_a_promotion_gives_the_window(self) -> None:
        specs: list[dict[str, Any]] = [
            {"measures": ["persons"]},
            {
                "promotion": {"start": "2026-06-01", "end": "2026-06-28"},
                "filters": {"category": ["調味料"]},
            },
            {"promotion": {"start": "2026-01-05", "end": "2026-01-18"}},
        ]
        found = reports.last_promotion(specs)
        assert found == reports.LastPromotion(date(2026, 6, 1), date(2026, 6, 28), ("調味料",))

    def test_no_promotion_asked_gives_none(self) -> None:
        assert reports.last_promotion([{"measures": ["persons"]}]) is None
