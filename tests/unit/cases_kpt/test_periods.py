"""The next period a KPT board suggests, and a Try's text as a case's summary."""

from __future__ import annotations

import pytest

from tsunagu.cases.kpt import case_summary, suggest_next


class TestSuggestNext:
    @pytest.mark.parametrize(
        ("period", "expected"),
        [
            ("2026-11", "2026-12"),
            ("2026-12", "2027-01"),
            ("2026-W48", "2026-W49"),
            ("2026-W53", "2027-W01"),
            ("2027-W52", "2028-W01"),
        ],
    )
    def test_a_month_or_an_iso_week_is_followed_by_the_next(
        self, period: str, expected: str
    ) -> None:
        assert suggest_next(period) == expected

    @pytest.mark.parametrize("period", ["Sprint 12", "2026-13", "2026-W60", ""])
    def test_anything_else_suggests_nothing(self, period: str) -> None:
        assert suggest_next(period) == ""


class TestCaseSummary:
    def test_is_the_first_non_empty_line(self) -> None:
        assert case_summary("\n  手順書を作る  \n詳しく") == "手順書を作る"

    def test_a_long_line_is_cut_to_fit(self) -> None:
        assert len(case_summary("あ" * 400)) == 255
