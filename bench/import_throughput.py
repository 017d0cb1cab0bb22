"""Rows/s of a CSV import into a fresh SQLite file, against bare ``sqlite3.executemany``.

Three imports of the same generated people, each into a fresh migrated database file, timed
from the CSV bytes to the commit (median of ``repeats`` runs; the migration is not timed):

- ``simple`` — the target of issue 3: ``import_persons`` of simple rows (family name, given
  name, e-mail): decoding, header mapping, every cell checked, e-mails unique in the file
  and in the database, ids made, rows written in batches, one transaction;
- ``full`` — ``import_persons`` with all nine person columns (kana, phone, postal code,
  address, birth date), as a CP932 file from Excel;
- ``anchor`` — ``sqlite3.executemany`` of the simple rows, already as tuples with their ids,
  into the same table of the same kind of file: what SQLite itself costs.

Beside them, ``validation`` compares ways to check the simple rows without a database: the
core's per-column converters (``core.imports.parse``) against a pydantic ``TypeAdapter`` over
the whole batch of dicts (after the same CSV reading), the other design the core could use.

Wall time is the result; CPU time of the process is kept too, since a shared machine makes
wall time noisy.
"""

from __future__ import annotations

import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tsunagu.core.database import make_engine, make_session_factory, migrate, unit_of_work
from tsunagu.identity.importing import import_persons

TARGET_ROWS_PER_S = 100_000

FAMILY = ["佐藤", "鈴木", "髙橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤"]
FAMILY_KANA = [
    "サトウ",
    "スズキ",
    "タカハシ",
    "タナカ",
    "イトウ",
    "ワタナベ",
    "ヤマモト",
    "ナカムラ",
    "コバヤシ",
    "カトウ",
]
GIVEN = ["太郎", "花子", "一郎", "美咲", "翔太", "陽菜", "大輔", "結衣", "健", "さくら"]
GIVEN_KANA = [
    "タロウ",
    "ハナコ",
    "イチロウ",
    "ミサキ",
    "ショウタ",
    "ヒナ",
    "ダイスケ",
    "ユイ",
    "ケン",
    "サクラ",
]
PREFECTURES = ["東京都千代田区", "大阪府大阪市北区", "愛知県名古屋市中区", "福岡県福岡市博多区"]


def simple_csv(rows: int, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    lines = ["姓,名,メールアドレス"]
    for i in range(rows):
        lines.append(f"{rng.choice(FAMILY)},{rng.choice(GIVEN)},person{i}@example.jp")
    return ("\r\n".join(lines) + "\r\n").encode()


def full_csv(rows: int, seed: int = 2) -> bytes:
    rng = random.Random(seed)
    lines = ["姓,名,セイ,メイ,メールアドレス,電話番号,郵便番号,住所,生年月日"]
    for i in range(rows):
        f, g = rng.randrange(10), rng.randrange(10)
        lines.append(
            f"{FAMILY[f]},{GIVEN[g]},{FAMILY_KANA[f]},{GIVEN_KANA[g]},person{i}@example.jp,"
            f"090-{rng.randrange(10000):04d}-{rng.randrange(10000):04d},"
            f"{rng.randrange(100, 999)}-{rng.randrange(10000):04d},"
            f"{rng.choice(PREFECTURES)}{rng.randrange(1, 9)}-{rng.randrange(1, 30)},"
            f"{rng.randrange(1930, 2010)}/{rng.randrange(1, 13)}/{rng.randrange(1, 29)}"
        )
    return ("\r\n".join(lines) + "\r\n").encode("cp932")


def _fresh_database(directory: Path, name: str) -> Any:
    engine = make_engine(f"sqlite:///{directory / name}")
    migrate(engine)
    return engine


def _time(fn: Callable[[], int]) -> dict[str, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    rows = fn()
    return {
        "rows": rows,
        "wall_s": time.perf_counter() - wall,
        "cpu_s": time.process_time() - cpu,
    }


def _import_run(directory: Path, name: str, data: bytes) -> dict[str, float]:
    engine = _fresh_database(directory, name)
    factory = make_session_factory(engine)

    def go() -> int:
        with unit_of_work(factory) as session:
            return import_persons(session, data).imported

    try:
        return _time(go)
    finally:
        engine.dispose()


def _anchor_run(directory: Path, name: str, rows: int) -> dict[str, float]:
    engine = _fresh_database(directory, name)
    engine.dispose()
    rng = random.Random(1)
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    params = [
        (uuid.uuid4().hex, rng.choice(FAMILY), rng.choice(GIVEN), f"person{i}@example.jp", now)
        for i in range(rows)
    ]
    conn = sqlite3.connect(directory / name, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    sql = (
        "INSERT INTO persons (id, family_name, given_name, email, created_at) "
        "VALUES (?, ?, ?, ?, ?)"
    )

    def go() -> int:
        conn.execute("BEGIN")
        conn.executemany(sql, params)
        conn.execute("COMMIT")
        return rows

    try:
        return _time(go)
    finally:
        conn.close()


def _validation(data: bytes, repeats: int) -> dict[str, Any]:
    import csv
    import io

    from pydantic import BaseModel, Field, TypeAdapter

    from tsunagu.core.imports import parse
    from tsunagu.identity.importing import person_columns

    class SimplePerson(BaseModel):
        # the same checks as the core's columns (pydantic's EmailStr would be slower still)
        family_name: str = Field(min_length=1, max_length=100)
        given_name: str = Field(min_length=1, max_length=100)
        email: str = Field(pattern=r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$", max_length=320)

    adapter = TypeAdapter(list[SimplePerson])
    columns = person_columns()

    def core() -> int:
        return len(parse(data, columns)[0])

    def pydantic_batch() -> int:
        records = list(csv.reader(io.StringIO(data.decode(), newline="")))
        fields = ["family_name", "given_name", "email"]
        rows = [dict(zip(fields, r, strict=True)) for r in records[1:]]
        return len(adapter.validate_python(rows))

    core_s = statistics.median(_time(core)["cpu_s"] for _ in range(repeats))
    pydantic_s = statistics.median(_time(pydantic_batch)["cpu_s"] for _ in range(repeats))
    return {
        "core_converters_cpu_s": round(core_s, 4),
        "pydantic_typeadapter_batch_cpu_s": round(pydantic_s, 4),
        "pydantic_over_core": round(pydantic_s / core_s, 2),
    }


def _summary(runs: list[dict[str, float]]) -> dict[str, Any]:
    wall = statistics.median(r["wall_s"] for r in runs)
    cpu = statistics.median(r["cpu_s"] for r in runs)
    rows = int(runs[0]["rows"])
    return {
        "rows": rows,
        "runs": [{k: round(v, 4) for k, v in r.items()} for r in runs],
        "median_wall_s": round(wall, 4),
        "median_cpu_s": round(cpu, 4),
        "rows_per_s": round(rows / wall),
        "rows_per_cpu_s": round(rows / cpu),
        # on a shared machine the fastest run is the closest to what the code itself can do
        "best_rows_per_s": round(rows / min(r["wall_s"] for r in runs)),
    }


def run(rows: int = 200_000, repeats: int = 3) -> dict[str, Any]:
    simple, full = simple_csv(rows), full_csv(rows)
    results: dict[str, list[dict[str, float]]] = {"simple": [], "full": [], "anchor": []}
    with tempfile.TemporaryDirectory(prefix="tsunagu-bench-") as tmp:
        directory = Path(tmp)
        for i in range(repeats):
            results["simple"].append(_import_run(directory, f"simple{i}.db", simple))
            results["full"].append(_import_run(directory, f"full{i}.db", full))
            results["anchor"].append(_anchor_run(directory, f"anchor{i}.db", rows))
    summary: dict[str, Any] = {name: _summary(runs) for name, runs in results.items()}
    summary["validation"] = _validation(simple, repeats)
    simple_rate = summary["simple"]["rows_per_s"]
    return {
        "target_rows_per_s": TARGET_ROWS_PER_S,
        "simple_file_bytes": len(simple),
        "full_file_bytes": len(full),
        "repeats": repeats,
        **summary,
        "simple_meets_target": simple_rate >= TARGET_ROWS_PER_S,
        "simple_vs_anchor": round(simple_rate / summary["anchor"]["rows_per_s"], 3),
    }


def report(result: dict[str, Any]) -> str:
    lines = [
        f"import_throughput ({result['simple']['rows']:,} rows, median of {result['repeats']})"
    ]
    for name in ("simple", "full", "anchor"):
        r = result[name]
        lines.append(
            f"  {name:<7} {r['rows_per_s']:>9,} rows/s wall (best {r['best_rows_per_s']:,})"
            f"  {r['rows_per_cpu_s']:>9,} rows/cpu-s"
        )
    v = result["validation"]
    lines.append(
        f"  validation only: core converters {v['core_converters_cpu_s']:.2f} cpu-s, "
        f"pydantic TypeAdapter batch {v['pydantic_typeadapter_batch_cpu_s']:.2f} cpu-s"
    )
    verdict = "meets" if result["simple_meets_target"] else "misses"
    lines.append(f"  simple {verdict} the target of {result['target_rows_per_s']:,} rows/s")
    return "\n".join(lines)
