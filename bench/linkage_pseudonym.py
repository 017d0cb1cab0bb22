"""Keyed-pseudonym matching (issue 6 item 3): 1,000,000 × 1,000,000 in ≤ 30 s end to end.

- **data** — two tables of *normalised* identifiers generated straight in DuckDB (the
  normalisation itself is measured elsewhere): ``n`` persons each side, half of them on
  both sides (``overlap`` = n/2).  Persons live in households of three that share a
  postal code, an address, a landline and, in 30 % of households, one e-mail address;
  names repeat (namesakes) with other birth dates; each side independently lacks an
  e-mail (20 %), a phone (15 %) or the kana (10 %), and the right side has moved
  (other postal code and address, 5 %) or changed e-mail (10 %) for some.  Ids are
  ``L…`` / ``R…`` with a permutation between them, the truth kept aside for scoring.
- **ours** — ``pseudonymise`` (HMAC-SHA256 in DuckDB, four rules) of both tables plus
  ``match`` (one-to-one, rule priority), timed end to end with the split; median of
  ``repeats`` runs.
- **python_hmac** — the alternative that was measured: the same four pseudonyms of the
  left table with Python's ``hmac.digest`` over the Arrow columns (once).
- **quality** — precision and recall of the match against the generated truth (pairs of
  people on both sides that share at least one complete rule are findable).

Run: ``python -m bench.linkage_pseudonym [--quick]`` (quick: 50,000 per side).
"""

# ruff: noqa: S608 — the generator's SQL is built from integers and fixed names only

from __future__ import annotations

import argparse
import gc
import hmac
import statistics
import time
from typing import Any

import duckdb

from tsunagu.linkage.pseudonym import RULES, derive_key, match, pseudonymise

TARGET_S = 30.0
SECRET = b"bench-platform-secret-0123456789abcdef"
_PRIME = 1_000_003  # coprime with every size used: a permutation of the right ids


def _side(name: str, first: int, n: int, seed: int, right: bool) -> str:
    """SQL creating one side: persons ``first … first+n-1`` of the population."""
    h = f"hash(p, {seed}, "  # deterministic pseudo-randomness per person and purpose
    moved = f"({h}'moved') % 100 < 5)" if right else "false"
    new_mail = f"({h}'newmail') % 100 < 10)" if right else "false"
    pid = (
        f"'R' || lpad(((p * {_PRIME}) % {10 * n})::VARCHAR, 8, '0')"
        if right
        else ("'L' || lpad(p::VARCHAR, 8, '0')")
    )
    side = "'r'" if right else "'l'"
    return f"""
    CREATE OR REPLACE TABLE {name} AS
    WITH base AS (
        SELECT range AS p, range // 3 AS hh FROM range({first}, {first + n})
    ), people AS (
        SELECT p, hh,
            (DATE '1935-01-01' + CAST(hash(p, 'birth') % 27000 AS INTEGER))::VARCHAR AS birth,
            (hash(p, 'name') % {max(n // 4, 1)}) AS name_no,
            hash(hh, 'hhmail') % 100 < 30 AS household_mail,
            hash(p, 'mobile') % 100 < 55 AS has_mobile,
            {moved} AS moved, {new_mail} AS new_mail
        FROM base
    )
    SELECT {pid} AS id,
        CASE WHEN {h}{side}, 'noemail') % 100 < 20 THEN NULL
             WHEN new_mail THEN 'new' || p || '@mail.example.jp'
             WHEN household_mail THEN 'home' || hh || '@example.ne.jp'
             ELSE 'p' || p || '@mail.example.jp' END AS email,
        CASE WHEN {h}{side}, 'nophone') % 100 < 15 THEN NULL
             WHEN has_mobile THEN '+8190' || lpad((p % 100000000)::VARCHAR, 8, '0')
             ELSE '+813' || lpad((hh % 100000000)::VARCHAR, 8, '0') END AS phone,
        birth AS birth_date,
        '山田' || name_no AS full_name,
        CASE WHEN {h}{side}, 'nokana') % 100 < 10 THEN NULL
             ELSE 'ヤマダ' || name_no END AS full_name_kana,
        lpad(((CASE WHEN moved THEN hh + 7777777 ELSE hh END) % 10000000)::VARCHAR, 7, '0')
            AS postal_code,
        '東京都千代田区' || (CASE WHEN moved THEN hh + 7777777 ELSE hh END) || '-1-2'
            AS address_key,
        p AS person
    FROM people
    """


def generate(con: duckdb.DuckDBPyConnection, n: int, seed: int = 6) -> None:
    """``raw_left`` / ``raw_right`` (identifiers) and ``truth(left_id, right_id)``."""
    con.execute(_side("gen_left", 0, n, seed, right=False))
    con.execute(_side("gen_right", n // 2, n, seed, right=True))
    con.execute(
        "CREATE OR REPLACE TABLE truth AS SELECT l.id AS left_id, r.id AS right_id "
        "FROM gen_left l JOIN gen_right r USING (person)"
    )
    for side in ("left", "right"):
        con.execute(
            f"CREATE OR REPLACE TABLE raw_{side} AS SELECT * EXCLUDE (person) FROM gen_{side}"
        )
        con.execute(f"DROP TABLE gen_{side}")


def _python_hmac(con: duckdb.DuckDBPyConnection, key: bytes) -> float:
    table = con.sql("SELECT * FROM raw_left").to_arrow_table()
    t = time.perf_counter()
    for rule in RULES:
        cols = [table.column(c).to_pylist() for c in rule.columns]
        prefix = f"{rule.name}\x1f"
        out: list[bytes | None] = []
        for values in zip(*cols, strict=True):
            if any(v is None or v == "" for v in values):
                out.append(None)
                continue
            msg = prefix + "".join(f"{len(v.encode())}:{v}" for v in values)
            out.append(hmac.digest(key, msg.encode(), "sha256"))
    return time.perf_counter() - t


def _one_run(con: duckdb.DuckDBPyConnection, key: bytes) -> dict[str, float | int]:
    gc.collect()
    t0 = time.perf_counter()
    pseudonymise(con, "raw_left", key, out="pid_left")
    t1 = time.perf_counter()
    pseudonymise(con, "raw_right", key, out="pid_right")
    t2 = time.perf_counter()
    matched = match(con, "pid_left", "pid_right", out="matches")
    t3 = time.perf_counter()
    return {
        "pseudonymise_left_s": t1 - t0,
        "pseudonymise_right_s": t2 - t1,
        "match_s": t3 - t2,
        "total_s": t3 - t0,
        "matched": matched,
    }


def run(n: int = 1_000_000, repeats: int = 3, compare_python: bool = True) -> dict[str, Any]:
    con = duckdb.connect()
    t = time.perf_counter()
    generate(con, n)
    generate_s = time.perf_counter() - t
    key = derive_key(SECRET, "bench-collaboration")
    runs = [_one_run(con, key) for _ in range(repeats)]
    totals = [float(r["total_s"]) for r in runs]
    median_run = sorted(runs, key=lambda r: float(r["total_s"]))[len(runs) // 2]
    true_pairs = int(con.execute("SELECT count(*) FROM truth").fetchone()[0])  # type: ignore[index]
    correct = int(
        con.execute("SELECT count(*) FROM matches JOIN truth USING (left_id, right_id)").fetchone()[
            0
        ]  # type: ignore[index]
    )
    rules = dict(con.execute("SELECT rule, count(*) FROM matches GROUP BY rule").fetchall())
    matched = int(median_run["matched"])
    python_s = _python_hmac(con, key) if compare_python else None
    sql_left_s = statistics.median(float(r["pseudonymise_left_s"]) for r in runs)
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]  # type: ignore[index]
    con.close()
    return {
        "target_s": TARGET_S,
        "left_rows": n,
        "right_rows": n,
        "overlap": true_pairs,
        "duckdb_threads": threads,
        "generate_s": round(generate_s, 2),
        "total_s": {"median": statistics.median(totals), "runs": totals},
        "split_s_of_median_run": {
            k: round(float(v), 3) for k, v in median_run.items() if k.endswith("_s")
        },
        "hmac_in_duckdb_vs_python": {
            "duckdb_left_s": round(sql_left_s, 3),
            "python_left_s": None if python_s is None else round(python_s, 3),
            "speedup": None if python_s is None else round(python_s / sql_left_s, 2),
        },
        "quality": {
            "matched": matched,
            "correct": correct,
            "precision": correct / matched if matched else None,
            "recall_of_overlap": correct / true_pairs if true_pairs else None,
            "by_rule": rules,
        },
        "meets_target_s": statistics.median(totals) <= TARGET_S,
    }


def report(result: dict[str, Any]) -> str:
    split = result["split_s_of_median_run"]
    q = result["quality"]
    h = result["hmac_in_duckdb_vs_python"]
    py = (
        ""
        if h["python_left_s"] is None
        else (
            f"; HMAC in DuckDB {h['duckdb_left_s']:.2f} s vs Python hmac "
            f"{h['python_left_s']:.2f} s ({h['speedup']:.1f}×)"
        )
    )
    return (
        f"linkage_pseudonym: {result['left_rows']:,} × {result['right_rows']:,} "
        f"(overlap {result['overlap']:,}): {result['total_s']['median']:.2f} s median end to end "
        f"(target ≤ {TARGET_S:.0f} s) = pseudonymise {split['pseudonymise_left_s']:.2f} + "
        f"{split['pseudonymise_right_s']:.2f} s, match {split['match_s']:.2f} s; "
        f"{q['matched']:,} pairs, precision {q['precision']:.4f}, "
        f"recall {q['recall_of_overlap']:.4f}{py}"
    )


def main() -> None:
    from bench.machine import write_result

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50,000 per side, one run")
    parser.add_argument("--n", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    n = args.n or (50_000 if args.quick else 1_000_000)
    repeats = args.repeats or (1 if args.quick else 3)
    res = run(n=n, repeats=repeats)
    print(report(res))
    name = "linkage_pseudonym_quick" if args.quick else "linkage_pseudonym"
    print(f"  → {write_result(name, res)}")


if __name__ == "__main__":
    main()
