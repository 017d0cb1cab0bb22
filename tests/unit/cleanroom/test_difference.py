"""The difference check: answers that could be subtracted to isolate a few persons.

Each test plays an attack from the security review against the engine with a history of the
collaboration's earlier answers, or an ordinary follow-up question that must still answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from tsunagu.cleanroom.engine import (
    QueryResult,
    create_history,
    history_rows,
    load_tables,
    remember,
    run_query,
)
from tsunagu.cleanroom.errors import QueryRefused
from tsunagu.cleanroom.query import parse_query
from tsunagu.linkage.rules import AnalysisRules

MONDAY = date(2026, 1, 5)
RULES = AnalysisRules(
    dimensions=frozenset({"prefecture", "member", "age_band", "category"}),
    measures=frozenset({"persons", "amount_sum"}),
    filters=frozenset({"prefecture", "category"}),
    min_group_size=10,
    epsilon_per_query=1.0,
)
TOKYO, OSAKA, TOTTORI = "東京都", "大阪府", "鳥取県"


def people(members: int = 100) -> list[dict[str, Any]]:
    """200 persons in Tokyo, 200 in Osaka and 3 in Tottori; the first ``members`` are members."""
    return [
        {
            "pid": f"p{i:04d}",
            "age_band": "20-29" if i % 2 else "30-39",
            "prefecture": TOKYO if i < 200 else OSAKA if i < 400 else TOTTORI,
            "segment": "regular",
            "member": i < members,
        }
        for i in range(403)
    ]


def orders() -> list[dict[str, Any]]:
    return [
        {
            "pid": f"p{i:04d}",
            "order_id": f"o{i:04d}",
            "ordered_at": MONDAY,
            "category": "飲料" if i % 4 else "菓子",
            "amount": 1000.0 + i,
        }
        for i in range(403)
    ]


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    load_tables(connection, people(), orders())
    create_history(connection)
    yield connection
    connection.close()


def ask(con: duckdb.DuckDBPyConnection, spec: dict[str, Any], name: str) -> QueryResult:
    """Ask with the history, then remember the answer (what the service does)."""
    result = run_query(con, parse_query(spec), RULES, history="cr_history", seed=1)
    remember(con, result, name)
    return result


TOTAL = {"measures": ["persons", "amount_sum"]}
BY_PREFECTURE = {"measures": ["persons", "amount_sum"], "dimensions": ["prefecture"]}


class TestAttacksAreDefeated:
    def test_total_minus_the_answer_by_prefecture_is_refused(
        self, con: duckdb.DuckDBPyConnection
    ) -> None:
        ask(con, TOTAL, "q1")
        with pytest.raises(QueryRefused, match="fewer than the minimum group size") as refused:
            ask(con, BY_PREFECTURE, "q2")
        assert refused.value.reason == "difference"

    def test_a_cell_that_differs_from_an_earlier_cell_by_a_few_persons_is_withheld(
        self, con: duckdb.DuckDBPyConnection
    ) -> None:
        ask(con, {**TOTAL, "filters": {"prefecture": [TOKYO, OSAKA, TOTTORI]}}, "q1")
        by_prefecture = {**BY_PREFECTURE, "filters": {"prefecture": [TOKYO, TOTTORI]}}
        second = ask(con, by_prefecture, "q2")
        third = ask(con, {**TOTAL, "filters": {"prefecture": [TOKYO, TOTTORI]}}, "q3")
        assert (second.cells[0]["prefecture"], second.suppressed) == (TOKYO, 1)
        assert (third.cells, third.suppressed_difference) == ([], 1)

    def test_the_answer_by_prefecture_then_the_total_is_refused(
        self, con: duckdb.DuckDBPyConnection
    ) -> None:
        ask(con, BY_PREFECTURE, "q1")
        with pytest.raises(QueryRefused) as refused:
            ask(con, TOTAL, "q2")
        assert refused.value.reason == "difference"

    def test_a_filter_list_minus_one_value_is_withheld(
        self, con: duckdb.DuckDBPyConnection
    ) -> None:
        ask(con, {**TOTAL, "filters": {"prefecture": [TOKYO, TOTTORI]}}, "q1")
        second = ask(con, {**TOTAL, "filters": {"prefecture": [TOKYO]}}, "q2")
        assert (second.cells, second.suppressed, second.suppressed_difference) == ([], 1, 1)

    def test_a_member_list_with_one_more_person_is_withheld(
        self, con: duckdb.DuckDBPyConnection
    ) -> None:
        spec = {"measures": ["persons"], "dimensions": ["member"]}
        assert len(ask(con, spec, "q1").cells) == 2
        load_tables(con, people(members=101), orders())
        again = ask(con, spec, "q2")
        assert (again.cells, again.suppressed_difference) == ([], 2)

    def test_noisy_answers_are_checked_too(self, con: duckdb.DuckDBPyConnection) -> None:
        ask(con, {**TOTAL, "noise": True}, "q1")
        with pytest.raises(QueryRefused) as refused:
            ask(con, {**BY_PREFECTURE, "noise": True}, "q2")
        assert refused.value.reason == "difference"

    def test_a_withheld_cell_is_not_remembered(self, con: duckdb.DuckDBPyConnection) -> None:
        ask(con, {**TOTAL, "filters": {"prefecture": [TOKYO, TOTTORI]}}, "q1")
        second = ask(con, {**TOTAL, "filters": {"prefecture": [TOKYO]}}, "q2")
        assert (second.persons, history_rows(second, "q2").num_rows) == ([], 0)


class TestOrdinaryQuestionsStillAnswer:
    def test_different_dimensions_over_large_groups_answer(
        self, con: duckdb.DuckDBPyConnection
    ) -> None:
        tokyo = {"prefecture": [TOKYO]}
        answers = [
            ask(con, {**TOTAL, "filters": tokyo}, "q1"),
            ask(con, {"measures": ["persons"], "dimensions": ["age_band"], "filters": tokyo}, "q2"),
            ask(con, {"measures": ["persons"], "dimensions": ["member"], "filters": tokyo}, "q3"),
            ask(con, {"measures": ["persons"], "dimensions": ["category"], "filters": tokyo}, "q4"),
        ]
        assert [len(a.cells) for a in answers] == [1, 2, 2, 2]
        assert all(a.suppressed == 0 for a in answers)

    def test_the_same_question_twice_gives_the_same_answer(
        self, con: duckdb.DuckDBPyConnection
    ) -> None:
        assert ask(con, BY_PREFECTURE, "q1").cells == ask(con, BY_PREFECTURE, "q2").cells

    def test_without_history_nothing_is_compared(self, con: duckdb.DuckDBPyConnection) -> None:
        run_query(con, parse_query(TOTAL), RULES)
        assert run_query(con, parse_query(BY_PREFECTURE), RULES).suppressed == 1


class TestHistoryFiles:
    def test_history_round_trips_through_parquet(
        self, con: duckdb.DuckDBPyConnection, tmp_path: Path
    ) -> None:
        first = run_query(con, parse_query(TOTAL), RULES, history="cr_history")
        path = tmp_path / "q1.parquet"
        pq.write_table(history_rows(first, "q1"), path)
        create_history(con, [str(path)])
        with pytest.raises(QueryRefused):
            run_query(con, parse_query(BY_PREFECTURE), RULES, history="cr_history")

    def test_cells_carry_their_persons(self, con: duckdb.DuckDBPyConnection) -> None:
        result = run_query(
            con, parse_query({"measures": ["persons"], "dimensions": ["age_band"]}), RULES
        )
        rows = history_rows(result, "q")
        sizes = [rows.column("cell_no").to_pylist().count(n) for n in range(len(result.cells))]
        assert sizes == [c["persons"] for c in result.cells]
