"""Clean-room aggregate (issue 6 item 5) against the same aggregate as raw DuckDB SQL.

Target: a clean-room question over 10,000,000 orders joined to 1,000,000 linked persons in
≤ 3 s, and ≤ 1.5× the same aggregate written as plain DuckDB SQL without the privacy rules
(``COUNT(DISTINCT pid)``, ``SUM(amount)`` grouped by the same dimensions), on the same
connection and data in the same run; medians of ``repeats`` runs.

- **data** — generated inside DuckDB from ``range()`` and ``hash()`` (no Python loops):
  persons with an age band (7), prefecture (47), segment (4) and member flag; orders with a
  pid drawn by hash, a date in 2025, one of 12 categories and an amount of ¥300–¥30,299.
- **queries** — ``persons`` + ``amount_sum`` by ``category × age_band`` with minimum group
  50: the raw SQL (anchor); the clean room's aggregate alone (``build_sql`` executed,
  suppression and clipping included); ``run_query`` without noise (aggregate, release and
  the set of persons for the ledger); ``run_query`` with Laplace noise (ε = 1, each person
  bounded to 5 cells).

The variants run interleaved (one of each per round, after a warm-up of each), so a change in
the machine's load hits all of them alike.  The load average at the start is recorded.

Run: ``python -m bench.cleanroom [--quick]`` (``--quick``: 200,000 orders of 20,000 persons).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

import duckdb

from tsunagu.cleanroom.engine import ORDERS_TABLE, PERSONS_TABLE, build_sql, run_query
from tsunagu.cleanroom.query import parse_query
from tsunagu.linkage._address import PREFECTURES as ADDRESS_PREFECTURES
from tsunagu.linkage.rules import AnalysisRules

TARGET_S = 3.0
TARGET_RATIO = 1.5
PREFECTURES = list(ADDRESS_PREFECTURES)
AGE_BANDS = ("10s", "20s", "30s", "40s", "50s", "60s", "70+")
SEGMENTS = ("light", "regular", "heavy", "dormant")
CATEGORIES = (
    "飲料", "菓子", "調味料", "冷凍食品", "乳製品", "日用品",
    "化粧品", "医薬品", "ベビー", "ペット", "酒類", "生鮮",
)  # fmt: skip
RAW_SQL = (
    f"SELECT o.category, p.age_band, COUNT(DISTINCT o.pid) AS persons, "  # noqa: S608
    f"SUM(o.amount) AS amount_sum FROM {ORDERS_TABLE} AS o JOIN {PERSONS_TABLE} AS p "
    "ON o.pid = p.pid GROUP BY o.category, p.age_band ORDER BY 1, 2"
)


def _list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


def generate(con: duckdb.DuckDBPyConnection, persons: int, orders: int) -> None:
    """``cr_persons`` and ``cr_orders`` of the given sizes, in DuckDB."""
    con.execute(
        f"CREATE OR REPLACE TABLE {PERSONS_TABLE} (pid VARCHAR PRIMARY KEY, age_band VARCHAR, "
        "prefecture VARCHAR, segment VARCHAR, member BOOLEAN)"
    )
    con.execute(
        f"INSERT INTO {PERSONS_TABLE} SELECT 'P' || lpad(i::VARCHAR, 8, '0'), "  # noqa: S608
        f"{_list(AGE_BANDS)}[(1 + hash(i, 1) % {len(AGE_BANDS)})::BIGINT], "
        f"{_list(tuple(PREFECTURES))}[(1 + hash(i, 2) % {len(PREFECTURES)})::BIGINT], "
        f"{_list(SEGMENTS)}[(1 + hash(i, 3) % {len(SEGMENTS)})::BIGINT], hash(i, 4) % 3 = 0 "
        f"FROM range({persons}) AS t(i)"
    )
    con.execute(
        f"CREATE OR REPLACE TABLE {ORDERS_TABLE} (pid VARCHAR NOT NULL, order_id VARCHAR, "
        "ordered_at DATE NOT NULL, category VARCHAR, amount DOUBLE NOT NULL)"
    )
    con.execute(
        f"INSERT INTO {ORDERS_TABLE} SELECT "  # noqa: S608
        f"'P' || lpad((hash(i, 5) % {persons})::VARCHAR, 8, '0'), 'O' || i::VARCHAR, "
        "DATE '2025-01-01' + (hash(i, 6) % 365)::INTEGER, "
        f"{_list(CATEGORIES)}[(1 + hash(i, 7) % {len(CATEGORIES)})::BIGINT], "
        "300 + (hash(i, 8) % 30000)::DOUBLE "
        f"FROM range({orders}) AS t(i)"
    )


def _medians(
    fns: dict[str, Callable[[], Any]], repeats: int
) -> dict[str, tuple[float, list[float]]]:
    """Median time of each function; the runs are interleaved (one of each per round) so that
    a change in the machine's load affects every variant alike and the ratios stay fair."""
    for fn in fns.values():
        fn()  # warm-up
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            gc.collect()
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return {name: (statistics.median(runs), runs) for name, runs in times.items()}


def run(persons: int = 1_000_000, orders: int = 10_000_000, repeats: int = 5) -> dict[str, Any]:
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    t0 = time.perf_counter()
    generate(con, persons, orders)
    generate_s = time.perf_counter() - t0
    rules = AnalysisRules(
        dimensions=frozenset({"category", "age_band"}),
        measures=frozenset({"persons", "amount_sum"}),
        min_group_size=50,
        epsilon_per_query=1.0,
    )
    spec = parse_query(
        {"measures": ["persons", "amount_sum"], "dimensions": ["category", "age_band"]}
    )
    noisy = parse_query(
        {
            "measures": ["persons", "amount_sum"],
            "dimensions": ["category", "age_band"],
            "noise": True,
        }
    )
    sql = build_sql(spec, rules)
    assert con.execute(sql).fetchall()  # the aggregate as one statement runs as shown
    timed = _medians(
        {
            "raw": lambda: con.execute(RAW_SQL).fetchall(),
            "agg": lambda: run_query(con, spec, rules, collect_persons=False),
            "agg_noise": lambda: run_query(con, noisy, rules, collect_persons=False),
            "full": lambda: run_query(con, spec, rules),
            "with_noise": lambda: run_query(con, noisy, rules),
        },
        repeats,
    )
    raw, raw_runs = timed["raw"]
    agg, agg_runs = timed["agg"]
    agg_noise, agg_noise_runs = timed["agg_noise"]
    full, full_runs = timed["full"]
    with_noise, noise_runs = timed["with_noise"]
    result = run_query(con, spec, rules)
    raw_rows = con.execute(RAW_SQL).fetchall()
    return {
        "target_s": TARGET_S,
        "target_ratio": TARGET_RATIO,
        "persons": persons,
        "orders": orders,
        "generate_s": round(generate_s, 2),
        "query": spec.to_dict(),
        "min_group_size": rules.min_group_size,
        "raw_sql_s": {"median": raw, "runs": raw_runs},
        "cleanroom_aggregate_s": {"median": agg, "runs": agg_runs},
        "cleanroom_aggregate_noise_s": {"median": agg_noise, "runs": agg_noise_runs},
        "run_query_s": {"median": full, "runs": full_runs},
        "run_query_noise_s": {"median": with_noise, "runs": noise_runs},
        "ratio_aggregate": agg / raw,
        "ratio_aggregate_noise": agg_noise / raw,
        "ratio_run_query": full / raw,
        "ratio_run_query_noise": with_noise / raw,
        "cells": len(result.cells),
        "raw_cells": len(raw_rows),
        "suppressed": result.suppressed,
        "persons_in_ledger_set": len(result.persons),
        "meets_target_s": max(agg, agg_noise) <= TARGET_S,
        "meets_target_ratio": max(agg, agg_noise) / raw <= TARGET_RATIO,
        "run_query_meets_target_s": max(full, with_noise) <= TARGET_S,
    }


def report(result: dict[str, Any]) -> str:
    return (
        f"cleanroom: {result['orders']:,} orders of {result['persons']:,} persons, "
        f"{result['cells']} cells: raw SQL {result['raw_sql_s']['median']:.2f} s; clean-room "
        f"aggregate {result['cleanroom_aggregate_s']['median']:.2f} s "
        f"({result['ratio_aggregate']:.2f}×), with noise "
        f"{result['cleanroom_aggregate_noise_s']['median']:.2f} s "
        f"({result['ratio_aggregate_noise']:.2f}×) (targets ≤ {TARGET_S} s, ≤ {TARGET_RATIO}×); "
        f"with the ledger's person set of {result['persons_in_ledger_set']:,}: "
        f"{result['run_query_s']['median']:.2f} s ({result['ratio_run_query']:.2f}×), "
        f"with noise {result['run_query_noise_s']['median']:.2f} s "
        f"({result['ratio_run_query_noise']:.2f}×)"
    )


if __name__ == "__main__":
    from bench.machine import write_result

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200,000 orders of 20,000 persons")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    kwargs: dict[str, Any] = {"repeats": args.repeats}
    if args.quick:
        kwargs.update(persons=20_000, orders=200_000)
    res = run(**kwargs)
    print(report(res))
    print(f"  → {write_result('cleanroom_quick' if args.quick else 'cleanroom', res)}")
