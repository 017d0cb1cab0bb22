"""The clean-room engine: one aggregate question → one SQL statement in DuckDB → safe cells.

Input tables (only consenting, linked persons are ever loaded — :func:`load_tables` is the
one way in and drops every order whose person was not loaded)::

    cr_persons(pid VARCHAR PRIMARY KEY, age_band VARCHAR, prefecture VARCHAR,
               segment VARCHAR, member BOOLEAN)
    cr_orders(pid VARCHAR, order_id VARCHAR, ordered_at DATE, category VARCHAR, amount DOUBLE)

The SQL is built as a SQLGlot expression tree — names come from the rules' whitelist, user
values enter only as literals — so the same question transpiles to Spark SQL
(:func:`build_sql` with ``dialect="spark"``).  Its stages:

1. ``base``: orders joined to persons, the filters, each dimension as a column;
2. ``pc``: one row per person and cell, the person's contribution clipped (orders to
   ``orders_bound``, amount to ``amount_bound``); with noise and an order-level dimension,
   each person keeps at most ``max_cells_per_person`` cells;
3. ``cells``: per cell ``persons = COUNT(*)`` over ``pc`` — the number of DISTINCT persons —
   and the clipped sums;
4. the output: only cells with ``persons ≥ min_group_size``, with the number of suppressed
   cells and the filtered population on every row (a ``LEFT JOIN`` so that they arrive
   even when nothing is released).

With noise, :mod:`tsunagu.cleanroom.privacy` adds calibrated OpenDP noise to the released
cells, then the suppression is checked again on the noisy person count.  A second statement
collects the persons of each released cell (``cell_no``, ``pid``); the ledger commits to their
union.

**Difference check** (as Google Ads Data Hub does): answers are also compared with the
collaboration's earlier answers, given as a *history* table ``(query_id, cell_no, pid)`` of
their released cells.  In one DuckDB statement, for each new cell *c* and each earlier cell
*p* that shares a person, ``|c Δ p| = |c| + |p| − 2|c ∩ p|``; a cell with
``0 < |c Δ p| < min_group_size`` for some *p* is withheld (counted in ``suppressed``).  Then
the union of the new answer's released cells is compared with each earlier answer's union the
same way; a difference of 1 to ``min_group_size − 1`` persons refuses the whole question
(:class:`QueryRefused`, reason ``difference``) — otherwise subtracting the two answers would
describe those few persons.  Nothing here
loops over rows in Python: only released cells (hundreds) and the person ids leave DuckDB.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp

from tsunagu.cleanroom.errors import QueryRefused
from tsunagu.cleanroom.privacy import NoisePlan, noised_measures, plan_noise
from tsunagu.cleanroom.query import QuerySpec, check_query
from tsunagu.linkage.rules import PERSON_DIMENSIONS, AnalysisRules

PERSONS_TABLE = "cr_persons"
ORDERS_TABLE = "cr_orders"

PERSONS_SCHEMA = pa.schema(
    [
        ("pid", pa.string()),
        ("age_band", pa.string()),
        ("prefecture", pa.string()),
        ("segment", pa.string()),
        ("member", pa.bool_()),
    ]
)
ORDERS_SCHEMA = pa.schema(
    [
        ("pid", pa.string()),
        ("order_id", pa.string()),
        ("ordered_at", pa.date32()),
        ("category", pa.string()),
        ("amount", pa.float64()),
    ]
)
_UNKNOWN = "unknown"
_DIALECT = "duckdb"


@dataclass
class QueryResult:
    """What the clean room releases for one question, and what it ran."""

    #: one dict per released cell: the dimension values, then the measures asked for
    cells: list[dict[str, Any]]
    #: cells withheld because fewer than the minimum number of persons are in them
    suppressed: int
    #: sorted ids of the persons in any released cell (the ledger commits to this set)
    persons: list[str]
    #: ε this query spent (0 without noise)
    epsilon_spent: float
    #: the DuckDB SQL of the aggregate, as run
    sql: str
    #: how the noise was calibrated (kind, ε, δ, sensitivities, scales); None without noise
    noise: dict[str, Any] | None = field(default=None)
    #: the persons of each released cell: ``cell_no`` (the index in ``cells``) and ``pid``;
    #: what the collaboration's history keeps for later difference checks
    cell_persons: pa.Table | None = field(default=None)
    #: cells withheld by the difference check (included in ``suppressed``)
    suppressed_difference: int = 0
    #: the persons total the recipient may see: the number of distinct persons in the released
    #: cells without noise; with noise the sum of the released cells' noisy person counts (the
    #: exact number is never released next to noisy cells)
    persons_total: int = 0

    def to_dialect(self, dialect: str) -> str:
        """The aggregate's SQL in another SQLGlot dialect (e.g. ``"spark"``)."""
        return sqlglot.transpile(self.sql, read=_DIALECT, write=dialect)[0]


def cells_per_person(spec: QuerySpec, rules: AnalysisRules) -> int:
    """How many cells one person may contribute to (1: the cells are disjoint in persons)."""
    if set(spec.dimensions) <= PERSON_DIMENSIONS:
        return 1
    return rules.max_cells_per_person


def _text(column: exp.Expression) -> exp.Expression:
    return exp.Coalesce(this=column, expressions=[exp.Literal.string(_UNKNOWN)])


def _date(value: Any) -> exp.Expression:
    return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.Type.DATE)


def _dimension(name: str, spec: QuerySpec) -> exp.Expression:
    orders = exp.column
    if name == "category":
        return _text(orders("category", "o"))
    if name in ("age_band", "prefecture", "segment"):
        return _text(exp.column(name, "p"))
    if name == "member":
        return exp.Case(
            ifs=[exp.If(this=exp.column("member", "p"), true=exp.Literal.string("member"))],
            default=exp.Literal.string("non_member"),
        )
    if name == "week":
        return exp.cast(
            exp.DateTrunc(  # type: ignore[no-untyped-call]
                unit=exp.Literal.string("WEEK"), this=orders("ordered_at", "o")
            ),
            exp.DataType.Type.DATE,
        )
    if name == "promotion_period":
        if spec.promotion is None:  # parse_query refuses this already
            raise QueryRefused("The 'promotion_period' dimension needs a 'promotion' window.")
        at = orders("ordered_at", "o")
        return exp.Case(
            ifs=[
                exp.If(
                    this=exp.LT(this=at, expression=_date(spec.promotion.start)),
                    true=exp.Literal.string("before"),
                ),
                exp.If(
                    this=exp.LTE(this=at.copy(), expression=_date(spec.promotion.end)),
                    true=exp.Literal.string("during"),
                ),
            ],
            default=exp.Literal.string("after"),
        )
    raise QueryRefused(f"'{name}' is not a dimension the clean room knows.")


def _filters(spec: QuerySpec) -> list[exp.Expression]:
    conditions: list[exp.Expression] = []
    if spec.categories is not None:
        conditions.append(
            exp.column("category", "o").isin(*[exp.Literal.string(v) for v in spec.categories])
        )
    if spec.prefectures is not None:
        conditions.append(
            exp.column("prefecture", "p").isin(*[exp.Literal.string(v) for v in spec.prefectures])
        )
    if spec.period is not None:
        conditions.append(
            exp.Between(
                this=exp.column("ordered_at", "o"),
                low=_date(spec.period.start),
                high=_date(spec.period.end),
            )
        )
    return conditions


def _person_cells(spec: QuerySpec, rules: AnalysisRules) -> tuple[exp.Select, exp.Select]:
    """The ``base`` and ``pc`` stages (see the module docstring)."""
    dims = list(spec.dimensions)
    base = (
        exp.select(exp.column("pid", "o").as_("pid"))
        .select(*[_dimension(d, spec).as_(d) for d in dims])
        # DOUBLE: sums of whole-yen amounts are exact (below 2**53) whatever order DuckDB's
        # threads add them in, so a released sum never depends on scheduling
        .select(exp.column("amount", "o").as_("amount"))
        .from_(exp.to_table(ORDERS_TABLE).as_("o"))
        .join(
            exp.to_table(PERSONS_TABLE).as_("p"),
            on=exp.EQ(this=exp.column("pid", "o"), expression=exp.column("pid", "p")),
        )
    )
    if conditions := _filters(spec):
        base = base.where(exp.and_(*conditions))
    keys = [exp.column("pid"), *[exp.column(d) for d in dims]]
    pc = (
        exp.select(*[k.copy() for k in keys])
        .select(
            exp.func(
                "LEAST", exp.Count(this=exp.Star()), exp.Literal.number(rules.orders_bound)
            ).as_("n_orders"),
            exp.func(
                "LEAST",
                exp.Sum(this=exp.func("GREATEST", exp.column("amount"), exp.Literal.number(0))),
                exp.Literal.number(rules.amount_bound),
            ).as_("amount"),
        )
        .from_("base")
        .group_by(*[k.copy() for k in keys])
    )
    if spec.noise and not set(dims) <= PERSON_DIMENSIONS:
        # keep each person's K cells chosen by a hash: independent of the values, so the
        # choice reveals nothing and is the same in the persons statement.  RANK rather
        # than ROW_NUMBER (the cells of a person are distinct, the ranks too, ties broken by
        # the dimensions): DuckDB turns a ROW_NUMBER filter into a much slower top-N
        rank = exp.Window(
            this=exp.func("RANK"),
            partition_by=[exp.column("pid")],
            order=exp.Order(
                expressions=[
                    exp.Ordered(this=exp.func("HASH", *[k.copy() for k in keys])),
                    *[exp.Ordered(this=exp.column(d)) for d in dims],
                ]
            ),
        )
        pc = pc.qualify(
            exp.LTE(this=rank, expression=exp.Literal.number(rules.max_cells_per_person))
        )
    return base, pc


def _with_pc(
    query: exp.Select, spec: QuerySpec, rules: AnalysisRules, pc_table: str | None
) -> exp.Select:
    """``query`` with the ``pc`` stage: computed, or read from a materialised table."""
    if pc_table is not None:
        return query.with_("pc", as_=exp.select("*").from_(pc_table))
    base, pc = _person_cells(spec, rules)
    return query.with_("base", as_=base).with_("pc", as_=pc)


def _aggregate(spec: QuerySpec, rules: AnalysisRules, pc_table: str | None = None) -> exp.Select:
    dims = list(spec.dimensions)
    cells = (
        exp.select(*[exp.column(d) for d in dims])
        .select(
            exp.Count(this=exp.Star()).as_("persons"),
            exp.Sum(this=exp.column("n_orders")).as_("orders"),
            exp.Sum(this=exp.column("amount")).as_("amount_sum"),
        )
        .from_("pc")
    )
    if dims:
        cells = cells.group_by(*[exp.column(d) for d in dims])
    floor = exp.Literal.number(rules.min_group_size)
    small = exp.LT(this=exp.column("persons"), expression=floor)
    population: exp.Expression
    if set(dims) <= PERSON_DIMENSIONS:
        # the cells are disjoint in persons: the population is their sum
        population = exp.Sum(this=exp.column("persons"))
        population_from = "cells"
    elif not _filters(spec):
        # nothing filtered: the population is everyone loaded (no pass over the orders)
        population = exp.Count(this=exp.Star())
        population_from = PERSONS_TABLE
    else:
        population = exp.Count(this=exp.Distinct(expressions=[exp.column("pid")]))
        population_from = "pc"
    stats = exp.select(
        exp.func(
            "COALESCE",
            exp.Sum(
                this=exp.Case(
                    ifs=[exp.If(this=small, true=exp.Literal.number(1))],
                    default=exp.Literal.number(0),
                )
            ),
            exp.Literal.number(0),
        ).as_("suppressed")
    ).from_("cells")
    pop = exp.select(
        exp.func("COALESCE", population, exp.Literal.number(0)).as_("population")
    ).from_(population_from)
    released = (
        exp.select("*")
        .from_("cells")
        .where(exp.GTE(this=exp.column("persons"), expression=floor.copy()))
    )
    query = _with_pc(exp.select(), spec, rules, pc_table)
    query = (
        query.select(
            *[exp.column(d, "r") for d in dims],
            exp.column("persons", "r"),
            exp.column("orders", "r"),
            exp.column("amount_sum", "r"),
            exp.column("suppressed", "s"),
            exp.column("population", "n"),
        )
        .from_(exp.to_table("stats").as_("s"))
        .join(exp.to_table("pop").as_("n"), join_type="cross")
        .join(exp.to_table("released").as_("r"), on=exp.true(), join_type="left")
        .with_("cells", as_=cells)
        .with_("stats", as_=stats)
        .with_("pop", as_=pop)
        .with_("released", as_=released)
    )
    if dims:
        query = query.order_by(*[exp.column(d, "r") for d in dims])
    return query


def build_sql(spec: QuerySpec, rules: AnalysisRules, dialect: str = _DIALECT) -> str:
    """The SQL of the aggregate for ``spec`` under ``rules``, in a SQLGlot dialect.

    The rules are checked first (:class:`QueryRefused` if they do not allow the question).
    """
    check_query(spec, rules)
    return _aggregate(spec, rules).sql(dialect=dialect)


HISTORY_SCHEMA = pa.schema(
    [("query_id", pa.string()), ("cell_no", pa.int32()), ("pid", pa.string())]
)


def _cell_persons_sql(
    spec: QuerySpec, rules: AnalysisRules, released: str | None, pc_table: str
) -> str:
    """``(cell_no, pid)`` of the released cells (``released``: their keys with ``cell_no``)."""
    query = _with_pc(exp.select(), spec, rules, pc_table)
    if released is None or not spec.dimensions:
        query = query.select(
            exp.cast(exp.Literal.number(0), exp.DataType.Type.INT).as_("cell_no"), "pid"
        ).from_(exp.to_table("pc").as_("c"))
    else:
        on = exp.and_(
            *[
                exp.NullSafeEQ(this=exp.column(d, "c"), expression=exp.column(d, "k"))
                for d in spec.dimensions
            ]
        )
        query = (
            query.select(exp.column("cell_no", "k"), exp.column("pid", "c"))
            .from_(exp.to_table("pc").as_("c"))
            .join(exp.to_table(released).as_("k"), on=on)
        )
    return query.distinct().sql(_DIALECT)


def _differing_cells(
    con: duckdb.DuckDBPyConnection, new: str, history: str, floor: int
) -> set[int]:
    """New cells that differ from some earlier released cell by 1 to ``floor − 1`` persons."""
    rows = con.execute(
        f"""
        WITH a AS (SELECT cell_no, COUNT(*) AS n FROM {new} GROUP BY cell_no),
        b AS (SELECT query_id, cell_no, COUNT(*) AS n FROM {history} GROUP BY query_id, cell_no),
        i AS (
            SELECT x.cell_no, h.query_id, h.cell_no AS old_cell, COUNT(*) AS k
            FROM {new} x JOIN {history} h ON h.pid = x.pid
            GROUP BY x.cell_no, h.query_id, h.cell_no
        )
        SELECT DISTINCT i.cell_no FROM i
        JOIN a ON a.cell_no = i.cell_no
        JOIN b ON b.query_id = i.query_id AND b.cell_no = i.old_cell
        WHERE a.n + b.n - 2 * i.k BETWEEN 1 AND ?
        """,  # noqa: S608 - table names are generated here, not user input
        [floor - 1],
    ).fetchall()
    return {int(r[0]) for r in rows}


def _differing_union(
    con: duckdb.DuckDBPyConnection, new: str, history: str, floor: int
) -> int | None:
    """The smallest difference, 1 to ``floor − 1`` persons, between the union of the new
    answer's cells and an earlier answer's union (None: no such difference)."""
    row = con.execute(
        f"""
        WITH u AS (SELECT DISTINCT pid FROM {new}),
        v AS (SELECT DISTINCT query_id, pid FROM {history}),
        vs AS (SELECT query_id, COUNT(*) AS n FROM v GROUP BY query_id),
        i AS (SELECT v.query_id, COUNT(*) AS k FROM v JOIN u ON u.pid = v.pid GROUP BY v.query_id)
        SELECT MIN(d) FROM (
            SELECT (SELECT COUNT(*) FROM u) + vs.n - 2 * COALESCE(i.k, 0) AS d
            FROM vs LEFT JOIN i USING (query_id)
        ) WHERE d BETWEEN 1 AND ?
        """,  # noqa: S608 - as above
        [floor - 1],
    ).fetchall()
    return None if not row or row[0][0] is None else int(row[0][0])


def _released_value(measure: str, cell: Mapping[str, Any], *, noisy: bool) -> Any:
    """A measure of a cell; the average is post-processing of the (noisy) sum and count."""
    if measure == "amount_avg":
        orders, total = cell["orders"], float(cell["amount_sum"])
        if not orders:
            return None
        return round(total / orders) if noisy else round(total / orders, 2)
    if measure in ("persons", "orders"):
        return int(cell[measure])
    return round(float(cell[measure]), 2)


def run_query(
    con: duckdb.DuckDBPyConnection,
    spec: QuerySpec,
    rules: AnalysisRules,
    *,
    epsilon: float | None = None,
    seed: int | None = None,
    collect_persons: bool = True,
    history: str | None = None,
) -> QueryResult:
    """Answer ``spec`` from the ``cr_persons`` / ``cr_orders`` tables of ``con``.

    ``epsilon`` overrides the rules' ε per query when noise is on; ``seed`` makes the noise
    reproducible (tests and benchmarks only — see :mod:`tsunagu.cleanroom.privacy`).  The
    caller charges the budget with ``epsilon_spent``.  ``history`` names a table or view of
    ``con`` with the released cells of the collaboration's earlier answers
    (:data:`HISTORY_SCHEMA`: ``query_id, cell_no, pid``); the difference check (module
    docstring) compares the new answer with them.  Raises :class:`QueryRefused`.

    With ``collect_persons`` (the default, and what a ledgered query needs) the person-cell
    stage is materialised once in a temporary table that both the aggregate and the person
    sets read — the cells are those of ``sql`` run as one statement.  Without it, ``sql``
    itself runs, ``persons`` stays empty and no difference check runs (previews, benchmarks).
    """
    check_query(spec, rules)
    plan: NoisePlan | None = None
    if spec.noise:
        eps = epsilon if epsilon is not None else rules.epsilon_per_query
        if eps is None or not eps > 0:
            raise QueryRefused(
                "Noise was requested but this agreement sets no privacy budget (ε per query).",
                reason="noise_not_configured",
            )
        plan = plan_noise(
            spec.measures, rules, epsilon=eps, cells_per_person=cells_per_person(spec, rules)
        )
    sql = _aggregate(spec, rules).sql(dialect=_DIALECT)
    if not collect_persons:
        return _release(con, spec, rules, plan, seed, sql, None, None)
    pc_table = f"_cr_pc_{uuid.uuid4().hex}"
    base, pc = _person_cells(spec, rules)
    con.execute(
        f"CREATE TEMP TABLE {pc_table} AS " + pc.with_("base", as_=base).sql(dialect=_DIALECT)
    )
    try:
        return _release(con, spec, rules, plan, seed, sql, pc_table, history)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {pc_table}")


def _release(
    con: duckdb.DuckDBPyConnection,
    spec: QuerySpec,
    rules: AnalysisRules,
    plan: NoisePlan | None,
    seed: int | None,
    sql: str,
    pc_table: str | None,
    history: str | None,
) -> QueryResult:
    run = sql if pc_table is None else _aggregate(spec, rules, pc_table).sql(dialect=_DIALECT)
    cursor = con.execute(run)
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    population = int(rows[0]["population"]) if rows else 0
    if population < rules.population_floor:
        raise QueryRefused(
            f"The filters leave fewer than {rules.population_floor} persons. Results over so "
            "few people could identify someone: widen the filters (more categories, "
            "prefectures or weeks).",
            reason="population_too_small",
        )
    suppressed = int(rows[0]["suppressed"])
    cells = [r for r in rows if r["persons"] is not None]
    noise_info: dict[str, Any] | None = None
    dims = list(spec.dimensions)
    if plan is not None:
        noisy = {
            m: plan.sample(m, [float(c[m]) for c in cells], seed=seed)
            for m in noised_measures(spec.measures)
        }
        kept: list[dict[str, Any]] = []
        for i, cell in enumerate(cells):
            out = {d: cell[d] for d in dims}
            for m, values in noisy.items():
                out[m] = max(0, round(values[i]))
            # suppression again on the noisy count: a cell the noise pushed below the floor
            # is withheld too, so no released number says "fewer than the minimum"
            if out["persons"] < rules.min_group_size:
                suppressed += 1
                continue
            kept.append(out)
        cells = kept
        noise_info = {
            "kind": plan.kind,
            "epsilon": plan.epsilon,
            "delta": plan.delta,
            "cells_per_person": plan.cells_per_person,
            "sensitivity": dict(plan.sensitivity),
            "scale": dict(plan.scale),
        }
    persons: list[str] = []
    cell_persons: pa.Table | None = None
    by_difference = 0
    if pc_table is not None and cells:
        cells, cell_persons, persons, by_difference = _check_differences(
            con, spec, rules, cells, pc_table, history
        )
        suppressed += by_difference
    released = [
        {
            **{d: (c[d].isoformat() if d == "week" and c[d] is not None else c[d]) for d in dims},
            **{m: _released_value(m, c, noisy=plan is not None) for m in spec.measures},
        }
        for c in cells
    ]
    total = sum(int(c["persons"]) for c in cells) if plan is not None else len(persons)
    return QueryResult(
        cells=released,
        suppressed=suppressed,
        persons=persons,
        epsilon_spent=plan.epsilon if plan is not None else 0.0,
        sql=sql,
        noise=noise_info,
        cell_persons=cell_persons,
        suppressed_difference=by_difference,
        persons_total=total,
    )


def _check_differences(
    con: duckdb.DuckDBPyConnection,
    spec: QuerySpec,
    rules: AnalysisRules,
    cells: list[dict[str, Any]],
    pc_table: str,
    history: str | None,
) -> tuple[list[dict[str, Any]], pa.Table, list[str], int]:
    """The cells that pass the difference check, their ``(cell_no, pid)``, the sorted distinct
    pids, and how many cells were withheld.

    Raises :class:`QueryRefused` (reason ``difference``) when the union of the released cells
    would differ from an earlier answer's union by fewer than the minimum group size.
    """
    tag = uuid.uuid4().hex
    keys_name, new = f"_cr_released_{tag}", f"_cr_new_{tag}"
    keys: pa.Table | None = None
    if spec.dimensions:
        keys = pa.table(
            {
                "cell_no": pa.array(range(len(cells)), type=pa.int32()),
                **{d: [c[d] for c in cells] for d in spec.dimensions},
            }
        )
        con.register(keys_name, keys)
    try:
        con.execute(
            f"CREATE TEMP TABLE {new} AS "
            + _cell_persons_sql(spec, rules, keys_name if keys is not None else None, pc_table)
        )
        withheld: set[int] = set()
        if history is not None:
            floor = rules.min_group_size
            withheld = _differing_cells(con, new, history, floor)
            if withheld:
                con.execute(
                    f"DELETE FROM {new} WHERE cell_no IN (SELECT UNNEST(?::INTEGER[]))",  # noqa: S608
                    [sorted(withheld)],
                ).fetchall()
            if (gap := _differing_union(con, new, history, floor)) is not None:
                raise QueryRefused(
                    f"This answer would differ from an earlier answer of this collaboration by "
                    f"only {gap} person(s) — fewer than the minimum group size of {floor}. "
                    "Subtracting the two answers could describe those few people, so the "
                    "question is refused. Ask about larger groups, or use the same filters "
                    "and dimensions as the earlier question.",
                    reason="difference",
                )
        # cell numbers stay 0…n-1 over the released cells (renumbered only when some were
        # withheld); no sort beyond that: the history is compared by set, not by order
        numbered = (
            "CAST(DENSE_RANK() OVER (ORDER BY cell_no) - 1 AS INTEGER)" if withheld else "cell_no"
        )
        table = con.sql(f"SELECT {numbered} AS cell_no, pid FROM {new}").to_arrow_table()  # noqa: S608
        persons = (
            con.sql(f"SELECT DISTINCT pid FROM {new} ORDER BY pid")  # noqa: S608
            .to_arrow_table()
            .column(0)
            .to_pylist()
        )
    finally:
        if keys is not None:
            con.unregister(keys_name)
        con.execute(f"DROP TABLE IF EXISTS {new}")
    kept = [c for i, c in enumerate(cells) if i not in withheld]
    return kept, table, persons, len(withheld)


HISTORY_TABLE = "cr_history"


def history_rows(result: QueryResult, query_id: str) -> pa.Table:
    """The released cells' persons of one answer, as rows of the history
    (:data:`HISTORY_SCHEMA`); empty when nothing was released."""
    cells = result.cell_persons
    if cells is None or cells.num_rows == 0:
        return HISTORY_SCHEMA.empty_table()
    return pa.table(
        {
            "query_id": pa.array([query_id] * cells.num_rows, type=pa.string()),
            "cell_no": cells.column("cell_no").cast(pa.int32()),
            "pid": cells.column("pid").cast(pa.string()),
        },
        schema=HISTORY_SCHEMA,
    )


def create_history(
    con: duckdb.DuckDBPyConnection, files: Iterable[str] = (), name: str = HISTORY_TABLE
) -> str:
    """(Re)create the history table ``name`` in ``con`` from Parquet files of
    :func:`history_rows`; returns its name for :func:`run_query`'s ``history``."""
    con.execute(
        f"CREATE OR REPLACE TABLE {name} (query_id VARCHAR NOT NULL, cell_no INTEGER NOT NULL, "
        "pid VARCHAR NOT NULL)"
    )
    if paths := sorted(files):
        con.execute(
            f"INSERT INTO {name} SELECT query_id, cell_no, pid FROM read_parquet(?)",  # noqa: S608
            [paths],
        ).fetchall()
    return name


def remember(
    con: duckdb.DuckDBPyConnection, result: QueryResult, query_id: str, name: str = HISTORY_TABLE
) -> None:
    """Append one answer's released cells to the history table ``name`` of ``con``."""
    rows = history_rows(result, query_id)
    src = f"_cr_hist_{uuid.uuid4().hex}"
    con.register(src, rows)
    try:
        con.execute(f"INSERT INTO {name} SELECT * FROM {src}").fetchall()  # noqa: S608
    finally:
        con.unregister(src)


def load_tables(
    con: duckdb.DuckDBPyConnection,
    persons_rows: Iterable[Mapping[str, Any]] | pa.Table,
    orders_rows: Iterable[Mapping[str, Any]] | pa.Table,
) -> None:
    """(Re)create ``cr_persons`` and ``cr_orders`` in ``con`` from rows or Arrow tables.

    The caller passes ONLY the consenting, linked persons.  Orders whose ``pid`` is not among
    them are dropped here, so an order can never bring a non-consenting person in.  Extra keys
    in the rows (names, consent flags …) are ignored.
    """
    persons = (
        persons_rows
        if isinstance(persons_rows, pa.Table)
        else pa.Table.from_pylist(list(persons_rows), schema=PERSONS_SCHEMA)
    )
    orders = (
        orders_rows
        if isinstance(orders_rows, pa.Table)
        else pa.Table.from_pylist(list(orders_rows), schema=ORDERS_SCHEMA)
    )
    src_p, src_o = f"_cr_src_p_{uuid.uuid4().hex}", f"_cr_src_o_{uuid.uuid4().hex}"
    con.execute(
        f"CREATE OR REPLACE TABLE {PERSONS_TABLE} (pid VARCHAR PRIMARY KEY, age_band VARCHAR, "
        "prefecture VARCHAR, segment VARCHAR, member BOOLEAN)"
    )
    con.execute(
        f"CREATE OR REPLACE TABLE {ORDERS_TABLE} (pid VARCHAR NOT NULL, order_id VARCHAR, "
        "ordered_at DATE NOT NULL, category VARCHAR, amount DOUBLE NOT NULL)"
    )
    con.register(src_p, persons)
    con.register(src_o, orders)
    try:
        con.execute(
            f"INSERT INTO {PERSONS_TABLE} SELECT pid, age_band, prefecture, segment, "  # noqa: S608 - fixed names
            f"COALESCE(member, FALSE) FROM {src_p}"
        )
        con.execute(
            f"INSERT INTO {ORDERS_TABLE} SELECT pid, order_id, ordered_at, category, amount "  # noqa: S608
            f"FROM {src_o} WHERE pid IN (SELECT pid FROM {PERSONS_TABLE})"
        )
    finally:
        con.unregister(src_p)
        con.unregister(src_o)
