"""The layout of the consent chart (a pure function: no database, no browser)."""

from __future__ import annotations

from tsunagu.consent.service import PurposeStats
from tsunagu.vault.staff_pages import build_chart


def _stats(purpose: str, given: int, withdrawn: int = 0, expired: int = 0) -> PurposeStats:
    return PurposeStats(purpose, f"{purpose}(ja)", purpose.title(), given, withdrawn, expired, 0)


class TestBuildChart:
    def test_one_bar_per_purpose(self) -> None:
        chart = build_chart([_stats("marketing", 3), _stats("customer-care", 1)], "en")
        assert [bar.purpose for bar in chart.bars] == ["marketing", "customer-care"]

    def test_segments_stack_in_state_order_without_gaps(self) -> None:
        (bar,) = build_chart([_stats("marketing", 2, withdrawn=1, expired=1)], "en").bars
        assert [s.state for s in bar.segments] == ["given", "withdrawn", "expired"]
        assert bar.segments[1].x == round(bar.segments[0].x + bar.segments[0].width, 2)

    def test_the_longest_bar_fills_the_axis(self) -> None:
        chart = build_chart([_stats("marketing", 5)], "en")
        (segment,) = chart.bars[0].segments
        assert segment.width == chart.bar_width

    def test_ticks_are_whole_numbers_up_to_the_axis_end(self) -> None:
        chart = build_chart([_stats("marketing", 2)], "en")
        assert [value for _x, value in chart.ticks] == [0, 1, 2]

    def test_labels_follow_the_language(self) -> None:
        chart = build_chart([_stats("marketing", 1)], "ja")
        assert chart.bars[0].label == "marketing(ja)"
