"""The pure parts of the clean-room pages: the answer's bar chart, a question in words."""

from __future__ import annotations

from tsunagu.cleanroom.pages import bar_chart, value_label
from tsunagu.linkage.pages import describe_spec

CELLS = [
    {"segment": "loyal", "member": "member", "persons": 60},
    {"segment": "loyal", "member": "non_member", "persons": 55},
    {"segment": "new", "member": "member", "persons": 70},
]


class TestBarChart:
    def test_the_first_dimension_runs_along_the_axis(self) -> None:
        option = bar_chart("en", CELLS, ["segment", "member"], "persons")
        assert option["xAxis"]["data"] == ["loyal", "new"]

    def test_each_combination_of_the_other_dimensions_is_a_series(self) -> None:
        option = bar_chart("en", CELLS, ["segment", "member"], "persons")
        series = {s["name"]: s["data"] for s in option["series"]}
        assert series == {"Member customers": [60, 70], "Non-members": [55, None]}

    def test_no_dimension_gives_one_total_bar(self) -> None:
        option = bar_chart("ja", [{"persons": 120}], [], "persons")
        assert option["xAxis"]["data"] == ["合計"]
        assert option["series"][0]["data"] == [120]

    def test_the_chart_holds_no_function(self) -> None:
        option = bar_chart("en", CELLS, ["segment"], "persons")
        assert "formatter" not in str(option)


class TestWords:
    def test_a_member_value_is_translated(self) -> None:
        assert value_label("ja", "member", "non_member") == "非会員"

    def test_a_question_reads_as_measures_by_dimensions(self) -> None:
        spec = {
            "measures": ["persons", "orders"],
            "dimensions": ["segment", "week"],
            "filters": {"period": {"start": "2026-01-05", "end": "2026-02-01"}},
            "noise": True,
        }
        assert describe_spec("en", spec) == (
            "Persons, Orders by Member segment × Week; orders 2026-01-05 – 2026-02-01; with noise"
        )

    def test_a_question_reads_in_japanese(self) -> None:
        spec = {"measures": ["persons"], "dimensions": ["segment"], "filters": {}}
        assert describe_spec("ja", spec) == "会員セグメント別の人数"
