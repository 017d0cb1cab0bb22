"""The chart layouts of the pipeline pages (``crm.page_charts``) on hand-made reports: the
Sankey is always acyclic (ECharts refuses cycles), rates become percentages, and every
string is in the reader's language."""

from __future__ import annotations

from typing import Any, ClassVar

from tsunagu.crm import page_charts as charts
from tsunagu.crm.stages import DEFAULT_MODEL


def _report(flows: list[dict[str, Any]]) -> dict[str, Any]:
    stages = [
        {
            "key": s.key,
            "label_ja": s.label_ja,
            "label_en": s.label_en,
            "department": s.department,
            "position": s.position,
            "role": s.role,
            "terminal": s.terminal,
        }
        for s in DEFAULT_MODEL.stages
    ]
    return {"stages": stages, "flows": flows, "periods": []}


def _flow(fr: str | None, to: str, kind: str, count: int = 1) -> dict[str, Any]:
    return {"from": fr, "to": to, "count": count, "fast_pass": kind == "fast_pass", "kind": kind}


def _has_cycle(links: list[dict[str, Any]]) -> bool:
    graph: dict[str, set[str]] = {}
    for link in links:
        graph.setdefault(link["source"], set()).add(link["target"])
    state: dict[str, int] = {}

    def visit(node: str) -> bool:
        if state.get(node) == 1:
            return True
        if state.get(node) == 2:
            return False
        state[node] = 1
        found = any(visit(n) for n in graph.get(node, ()))
        state[node] = 2
        return found

    return any(visit(n) for n in list(graph))


class TestSankey:
    FLOWS: ClassVar[list[dict[str, Any]]] = [
        _flow(None, "lead", "first", 10),
        _flow("lead", "nurturing", "forward", 6),
        _flow("nurturing", "recycle", "recycle", 2),
        _flow("recycle", "nurturing", "return", 1),
        _flow("lost", "recycle", "recycle", 1),
        _flow("opportunity", "lost", "lost", 2),
        _flow("renewal", "adoption", "next_term", 1),
        _flow("adoption", "renewal", "forward", 1),
        _flow("recycle", "dead_end", "dead_end", 1),
    ]

    def test_has_no_cycle_even_when_the_pipeline_loops(self) -> None:
        option = charts.sankey_chart(_report(self.FLOWS), DEFAULT_MODEL, "en")
        assert not _has_cycle(option["series"][0]["links"])

    def test_a_move_back_goes_to_a_return_node(self) -> None:
        option = charts.sankey_chart(_report(self.FLOWS), DEFAULT_MODEL, "en")
        targets = {(x["source"], x["target"]) for x in option["series"][0]["links"]}
        assert ("Recycle", "Nurturing ↺") in targets
        assert ("Renewal", "Adoption ↺") in targets
        assert ("Lost", "Recycle") in targets

    def test_first_events_come_from_new_entries_in_the_readers_language(self) -> None:
        option = charts.sankey_chart(_report(self.FLOWS), DEFAULT_MODEL, "ja")
        assert {"source": "新規", "target": "リード"}.items() <= option["series"][0]["links"][
            0
        ].items()

    def test_every_link_names_a_node(self) -> None:
        option = charts.sankey_chart(_report(self.FLOWS), DEFAULT_MODEL, "en")
        names = {n["name"] for n in option["series"][0]["data"]}
        for link in option["series"][0]["links"]:
            assert {link["source"], link["target"]} <= names


class TestRanks:
    def test_side_stages_follow_the_main_line_lost_first(self) -> None:
        ranks = charts.stage_ranks(DEFAULT_MODEL)
        assert ranks["renewal"] < ranks["lost"] < ranks["recycle"] < ranks["dead_end"]
        assert ranks["dead_end"] < ranks["churned"]


class TestPercent:
    def test_a_rate_becomes_a_percentage_with_one_decimal(self) -> None:
        assert charts.percent(2 / 3) == 66.7

    def test_no_rate_stays_none(self) -> None:
        assert charts.percent(None) is None


class TestMetricNames:
    LABELS: ClassVar[dict[str, str]] = {"lead": "Lead", "nurturing": "Nurturing"}

    def test_names_a_conversion_series(self) -> None:
        name = charts.metric_name("conversion.lead>nurturing", self.LABELS, "en")
        assert name == "Conversion Lead → Nurturing"

    def test_names_a_flow_series_in_japanese(self) -> None:
        assert charts.metric_name("flow.lead", {"lead": "リード"}, "ja") == "リードへの移動数"

    def test_rates_are_told_from_counts(self) -> None:
        assert charts.is_rate("win_rate")
        assert not charts.is_rate("balance.lead")
