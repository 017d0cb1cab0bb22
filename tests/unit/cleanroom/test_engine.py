"""The clean-room engine on DuckDB: suppression, consent, noise, the SQL and its dialects."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import duckdb
import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tsunagu.cleanroom.engine import QueryResult, build_sql, load_tables, run_query
from tsunagu.cleanroom.errors import QueryRefused
from tsunagu.cleanroom.query import QuerySpec, parse_query
from tsunagu.linkage.errors import BudgetExhausted
from tsunagu.linkage.rules import AnalysisRules, Budget

START = date(2026, 1, 5)  # a Monday
RULES = AnalysisRules(
    dimensions=frozenset({"category", "age_band", "member", "week", "promotion_period"}),
    measures=frozenset({"persons", "orders", "amount_sum", "amount_avg"}),
    min_group_size=3,
    min_population=3,
    epsilon_per_query=1.0,
)
BY_CATEGORY_AGE = parse_query(
    {"measures": ["persons", "orders", "amount_sum"], "dimensions": ["category", "age_band"]}
)
PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

person_st = st.fixed_dictionaries(
    {
        "age_band": st.sampled_from(["20s", "30s"]),
        "member": st.booleans(),
        "consented": st.booleans(),
    }
)
order_st = st.tuples(
    st.integers(min_value=0, max_value=10_000),  # which person (modulo the population)
    st.sampled_from(["飲料", "菓子", "日用品"]),
    st.integers(min_value=0, max_value=27),
    st.integers(min_value=0, max_value=150_000),
)


def population(
    persons: list[dict[str, Any]], orders: list[tuple[int, str, int, int]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Persons rows (with a consent flag) and order rows of every person, consenting or not."""
    people = [
        {"pid": f"p{i:04d}", "prefecture": "東京都", "segment": "regular", **p}
        for i, p in enumerate(persons)
    ]
    rows = [
        {
            "pid": people[who % len(people)]["pid"],
            "order_id": f"o{j:05d}",
            "ordered_at": START + timedelta(days=day),
            "category": category,
            "amount": float(amount),
        }
        for j, (who, category, day, amount) in enumerate(orders)
    ]
    return people, rows


def load_consenting(
    people: list[dict[str, Any]], orders: list[dict[str, Any]]
) -> duckdb.DuckDBPyConnection:
    """What the caller must do: load only consenting persons (the loader drops others' orders)."""
    con = duckdb.connect()
    load_tables(con, [p for p in people if p["consented"]], orders)
    return con


def released(con: duckdb.DuckDBPyConnection, spec: QuerySpec, rules: AnalysisRules) -> Any:
    """Every number the clean room releases for ``spec`` (or the refusal reason)."""
    try:
        result = run_query(con, spec, rules, seed=7)
    except QueryRefused as refused:
        return refused.reason
    return result.cells, result.suppressed, result.persons


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    """Forty persons in two age bands; the first thirty consented; orders for everyone."""
    people = [
        {
            "pid": f"p{i:03d}",
            "age_band": "20s" if i % 2 else "30s",
            "prefecture": "東京都",
            "segment": "regular",
            "member": i % 3 == 0,
            "consented": i < 30,
        }
        for i in range(40)
    ]
    orders = [
        {
            "pid": f"p{i % 40:03d}",
            "order_id": f"o{i:04d}",
            "ordered_at": START + timedelta(days=i % 21),
            "category": "飲料" if i % 5 else "菓子",
            "amount": 1000.0 + i,
        }
        for i in range(400)
    ]
    connection = load_consenting(people, orders)
    yield connection
    connection.close()


def naive_cells(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], set[str]]:
    """Reference: the distinct persons of each (category, age_band) cell, computed in Python."""
    persons = dict(con.execute("SELECT pid, age_band FROM cr_persons").fetchall())
    cells: dict[tuple[str, str], set[str]] = defaultdict(set)
    for pid, category in con.execute("SELECT pid, category FROM cr_orders").fetchall():
        cells[(category, persons[pid])].add(pid)
    return cells


class TestSuppression:
    @PROPERTY
    @given(st.lists(person_st, min_size=1, max_size=30), st.lists(order_st, max_size=120))
    def test_no_released_cell_has_fewer_persons_than_the_minimum(
        self, persons: list[dict[str, Any]], orders: list[tuple[int, str, int, int]]
    ) -> None:
        con = load_consenting(*population(persons, orders))
        out = released(con, BY_CATEGORY_AGE, RULES)
        if isinstance(out, str):
            assert out == "population_too_small"
            return
        cells, suppressed, pids = out
        reference = naive_cells(con)
        assert all(cell["persons"] >= RULES.min_group_size for cell in cells)
        assert {(c["category"], c["age_band"]): c["persons"] for c in cells} == {
            key: len(group) for key, group in reference.items() if len(group) >= 3
        }
        assert suppressed == sum(1 for group in reference.values() if len(group) < 3)
        assert pids == sorted(
            set().union(*[group for group in reference.values() if len(group) >= 3])
        )

    @PROPERTY
    @given(st.lists(person_st, min_size=1, max_size=30), st.lists(order_st, max_size=120))
    def test_no_noisy_released_cell_has_fewer_persons_than_the_minimum(
        self, persons: list[dict[str, Any]], orders: list[tuple[int, str, int, int]]
    ) -> None:
        con = load_consenting(*population(persons, orders))
        spec = parse_query({**BY_CATEGORY_AGE.to_dict(), "noise": True})
        out = released(con, spec, RULES)
        if not isinstance(out, str):
            assert all(cell["persons"] >= RULES.min_group_size for cell in out[0])

    def test_suppressed_persons_are_not_in_the_ledger_set(
        self, con: duckdb.DuckDBPyConnection
    ) -> None:
        rules = AnalysisRules(
            dimensions=RULES.dimensions, measures=RULES.measures, min_group_size=5
        )
        result = run_query(con, BY_CATEGORY_AGE, rules)
        in_cells = naive_cells(con)
        large = set().union(*[g for g in in_cells.values() if len(g) >= 5])
        assert set(result.persons) == large
        assert result.suppressed == sum(1 for g in in_cells.values() if len(g) < 5)

    def test_too_small_filtered_population_is_refused(self, con: duckdb.DuckDBPyConnection) -> None:
        rules = AnalysisRules(
            dimensions=RULES.dimensions,
            measures=RULES.measures,
            min_group_size=3,
            min_population=31,
        )
        with pytest.raises(QueryRefused, match="fewer than 31 persons") as refused:
            run_query(con, BY_CATEGORY_AGE, rules)
        assert refused.value.reason == "population_too_small"


class TestConsent:
    @PROPERTY
    @given(
        st.lists(person_st, min_size=1, max_size=30),
        st.lists(order_st, max_size=120),
        st.lists(order_st, max_size=10),
        st.booleans(),
    )
    def test_a_non_consenting_person_never_changes_a_released_number(
        self,
        persons: list[dict[str, Any]],
        orders: list[tuple[int, str, int, int]],
        their_orders: list[tuple[int, str, int, int]],
        noise: bool,
    ) -> None:
        people, rows = population(persons, orders)
        outsider = {
            "pid": "zz-outsider", "age_band": "20s", "prefecture": "東京都",
            "segment": "regular", "member": True, "consented": False,
        }  # fmt: skip
        extra = [
            {**r, "pid": "zz-outsider", "order_id": f"x{i}"}
            for i, r in enumerate(population(persons, their_orders)[1])
        ]
        spec = parse_query({**BY_CATEGORY_AGE.to_dict(), "noise": noise})
        without = released(load_consenting(people, rows), spec, RULES)
        with_them = released(load_consenting([*people, outsider], rows + extra), spec, RULES)
        assert with_them == without

    @PROPERTY
    @given(st.lists(person_st, min_size=1, max_size=30), st.lists(order_st, max_size=120))
    def test_orders_of_a_person_not_loaded_change_nothing(
        self, persons: list[dict[str, Any]], orders: list[tuple[int, str, int, int]]
    ) -> None:
        people, rows = population(persons, orders)
        stray = [{**r, "pid": "nobody"} for r in rows[:5]]
        assert released(load_consenting(people, rows + stray), BY_CATEGORY_AGE, RULES) == (
            released(load_consenting(people, rows), BY_CATEGORY_AGE, RULES)
        )

    def test_only_consenting_persons_are_in_the_ledger_set(
        self, con: duckdb.DuckDBPyConnection
    ) -> None:
        result = run_query(con, BY_CATEGORY_AGE, RULES)
        assert result.persons
        assert all(int(pid[1:]) < 30 for pid in result.persons)


class TestBounds:
    def test_one_persons_amount_in_a_cell_counts_at_most_the_bound(self) -> None:
        con = duckdb.connect()
        people = [{"pid": f"p{i}", "age_band": "20s", "member": False} for i in range(3)]
        orders = [
            {"pid": "p0", "order_id": "a", "ordered_at": START, "category": "c",
             "amount": 5_000_000.0},
            {"pid": "p1", "order_id": "b", "ordered_at": START, "category": "c", "amount": 10.0},
            {"pid": "p2", "order_id": "c", "ordered_at": START, "category": "c", "amount": 20.0},
        ]  # fmt: skip
        load_tables(con, people, orders)
        spec = parse_query({"measures": ["amount_sum"], "dimensions": ["category"]})
        result = run_query(con, spec, RULES)
        assert result.cells == [{"category": "c", "amount_sum": 100_030.0}]


class TestNoise:
    def test_noise_changes_released_values_within_a_reasonable_bound(
        self, con: duckdb.DuckDBPyConnection
    ) -> None:
        truth = run_query(con, BY_CATEGORY_AGE, RULES)
        spec = parse_query({**BY_CATEGORY_AGE.to_dict(), "noise": True})
        noisy = run_query(con, spec, RULES, epsilon=3.0, seed=11)
        assert noisy.noise is not None
        scale = noisy.noise["scale"]
        true_by_key = {(c["category"], c["age_band"]): c for c in truth.cells}
        differs = False
        for cell in noisy.cells:
            real = true_by_key[(cell["category"], cell["age_band"])]
            for measure in ("persons", "orders", "amount_sum"):
                assert abs(cell[measure] - real[measure]) <= 30 * scale[measure] + 1
                differs |= cell[measure] != real[measure]
        assert differs
        assert noisy.epsilon_spent == 3.0

    def test_noise_is_reproducible_with_a_seed(self, con: duckdb.DuckDBPyConnection) -> None:
        spec = parse_query({**BY_CATEGORY_AGE.to_dict(), "noise": True})
        assert (
            run_query(con, spec, RULES, seed=5).cells == run_query(con, spec, RULES, seed=5).cells
        )

    @pytest.mark.parametrize("kind", ["laplace", "gaussian"])
    def test_opendp_noise_stays_within_a_reasonable_bound(
        self, con: duckdb.DuckDBPyConnection, kind: str
    ) -> None:
        rules = AnalysisRules.from_agreement({**RULES.to_dict(), "noise": kind})
        spec = parse_query({**BY_CATEGORY_AGE.to_dict(), "noise": True})
        truth = {
            (c["category"], c["age_band"]): c for c in run_query(con, BY_CATEGORY_AGE, rules).cells
        }
        noisy = run_query(con, spec, rules, epsilon=5.0)
        assert noisy.noise is not None
        assert noisy.noise["kind"] == kind
        for cell in noisy.cells:
            real = truth[(cell["category"], cell["age_band"])]
            assert (
                abs(cell["persons"] - real["persons"]) <= 40 * noisy.noise["scale"]["persons"] + 1
            )

    def test_noisy_counts_are_whole_and_non_negative(self, con: duckdb.DuckDBPyConnection) -> None:
        spec = parse_query({**BY_CATEGORY_AGE.to_dict(), "noise": True})
        result = run_query(con, spec, RULES, epsilon=0.01, seed=3)
        for cell in result.cells:
            assert isinstance(cell["persons"], int)
            assert cell["orders"] >= 0
            assert cell["amount_sum"] >= 0

    def test_order_dimensions_bound_the_cells_per_person(
        self, con: duckdb.DuckDBPyConnection
    ) -> None:
        spec = parse_query(
            {"measures": ["persons"], "dimensions": ["category", "week"], "noise": True}
        )
        result = run_query(con, spec, RULES, seed=1)
        assert result.noise is not None
        assert result.noise["cells_per_person"] == RULES.max_cells_per_person
        assert result.noise["sensitivity"]["persons"] == RULES.max_cells_per_person

    def test_each_person_counts_in_at_most_k_cells(self, con: duckdb.DuckDBPyConnection) -> None:
        rules = AnalysisRules.from_agreement(
            {**RULES.to_dict(), "max_cells_per_person": 1, "min_group_size": 1, "min_population": 1}
        )
        spec = parse_query(
            {"measures": ["persons"], "dimensions": ["category", "week"], "noise": True}
        )
        # ε so large that the noise rounds away: the counts are the bounded true counts
        result = run_query(con, spec, rules, epsilon=1e9, seed=1)
        assert sum(cell["persons"] for cell in result.cells) == len(result.persons) == 30

    def test_person_dimensions_compose_in_parallel(self, con: duckdb.DuckDBPyConnection) -> None:
        spec = parse_query({"measures": ["persons"], "dimensions": ["age_band"], "noise": True})
        result = run_query(con, spec, RULES, seed=1)
        assert result.noise is not None
        assert result.noise["sensitivity"] == {"persons": 1.0}

    def test_noise_without_epsilon_is_refused(self, con: duckdb.DuckDBPyConnection) -> None:
        rules = AnalysisRules(dimensions=RULES.dimensions, measures=RULES.measures)
        spec = parse_query({**BY_CATEGORY_AGE.to_dict(), "noise": True})
        with pytest.raises(QueryRefused, match="sets no privacy budget"):
            run_query(con, spec, rules)

    def test_spent_budget_refuses_further_noisy_queries(
        self, con: duckdb.DuckDBPyConnection
    ) -> None:
        spec = parse_query({**BY_CATEGORY_AGE.to_dict(), "noise": True})
        budget = Budget(total=2.5)
        for seed in range(2):
            budget = budget.charge(run_query(con, spec, RULES, seed=seed).epsilon_spent)
        with pytest.raises(BudgetExhausted, match="No further noisy queries"):
            budget.charge(RULES.epsilon_per_query or 0)


class TestSql:
    def test_the_sql_that_ran_gives_the_released_cells(
        self, con: duckdb.DuckDBPyConnection
    ) -> None:
        result = run_query(con, BY_CATEGORY_AGE, RULES)
        rows = con.execute(result.sql).fetchall()
        assert [(r[0], r[1], r[2]) for r in rows] == [
            (c["category"], c["age_band"], c["persons"]) for c in result.cells
        ]

    def test_the_same_query_builds_as_spark_sql(self) -> None:
        spec = parse_query(
            {
                "measures": ["persons", "amount_sum"],
                "dimensions": ["category", "week"],
                "filters": {"category": ["飲料"]},
                "noise": True,
            }
        )
        spark = build_sql(spec, RULES, dialect="spark")
        parsed = sqlglot.parse_one(spark, read="spark")
        assert "QUALIFY" not in spark  # Spark has none: the per-person bound is a subquery
        assert "TRUNC(o.ordered_at, 'WEEK')" in spark
        assert {t.name for t in parsed.find_all(sqlglot.exp.Table)} >= {"cr_orders", "cr_persons"}

    def test_result_transpiles_to_another_dialect(self, con: duckdb.DuckDBPyConnection) -> None:
        result: QueryResult = run_query(con, BY_CATEGORY_AGE, RULES)
        assert result.to_dialect("spark").startswith("WITH base AS")

    def test_a_filter_value_never_becomes_sql(self, con: duckdb.DuckDBPyConnection) -> None:
        spec = parse_query({"measures": ["persons"], "filters": {"category": ["x' OR '1'='1"]}})
        with pytest.raises(QueryRefused, match="fewer than"):
            run_query(con, spec, RULES)

    def test_no_work_table_is_left_behind(self, con: duckdb.DuckDBPyConnection) -> None:
        run_query(con, BY_CATEGORY_AGE, RULES)
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert tables == {"cr_persons", "cr_orders"}
