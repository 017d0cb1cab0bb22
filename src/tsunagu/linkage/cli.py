"""``tsunagu linkage …``: link two customer files, evaluate linkage before a collaboration.

::

    tsunagu linkage link LEFT.csv RIGHT.csv --out PAIRS.csv [--threshold P]
                         [--all-candidates] [--report REPORT.json]

``link`` reads both files (``tsunagu.linkage.files``: UTF-8 with or without BOM, or CP932;
columns recognised by header), links them with the probabilistic model
(``tsunagu.linkage.probabilistic``) and writes ``left_id,right_id,match_probability``
(UTF-8, that header exactly), one-to-one unless ``--all-candidates``.  A file that cannot
be used (missing, empty, not CSV, undecodable, no ``id`` column, duplicate ids) is one
``error: …`` line on stderr and exit status 2; a one-line summary goes to stderr, never to
the pairs file.  The command needs no database and no ``TSUNAGU_HOME``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import typer

from tsunagu.linkage.files import LinkageFileError, read_people_csv
from tsunagu.linkage.probabilistic import LinkageError, LinkResult, link

__all__ = ["OUTPUT_HEADER", "link_files", "linkage_app"]

linkage_app = typer.Typer(help="Linkage: link customer files across organizations.")

#: the pairs file's header (a contract scripts rely on)
OUTPUT_HEADER = ("left_id", "right_id", "match_probability")
#: exit status for files or options that cannot be used (as for usage errors)
BAD_INPUT = 2


def link_files(
    left: Path,
    right: Path,
    out: Path,
    *,
    threshold: float | None = None,
    all_candidates: bool = False,
    report: Path | None = None,
) -> LinkResult:
    """Link the files ``left`` and ``right``, write the pairs to ``out`` (and the report).

    What the command runs, end to end (the quality benchmark times this function).
    """
    left_table = read_people_csv(left)
    right_table = read_people_csv(right)
    result = link(left_table, right_table, threshold=threshold, one_to_one=not all_candidates)
    columns = [result.pairs.column(name).to_pylist() for name in OUTPUT_HEADER]
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(OUTPUT_HEADER)
        writer.writerows(
            (left_id, right_id, f"{probability:.6f}")
            for left_id, right_id, probability in zip(*columns, strict=True)
        )
    if report is not None:
        report.write_text(
            json.dumps(result.report.to_dict(), ensure_ascii=False, indent=2, default=str) + "\n",
            encoding="utf-8",
        )
    return result


@linkage_app.command("link")
def link_command(
    left: Path = typer.Argument(..., metavar="LEFT.csv", help="The first customer file."),
    right: Path = typer.Argument(..., metavar="RIGHT.csv", help="The second customer file."),
    out: Path = typer.Option(..., "--out", metavar="PAIRS.csv", help="Where to write the pairs."),
    threshold: float | None = typer.Option(
        None,
        "--threshold",
        metavar="P",
        help="Link pairs with a match probability of at least P (default: best expected F1).",
    ),
    all_candidates: bool = typer.Option(
        False, "--all-candidates", help="List every pair above the threshold, not one-to-one."
    ),
    report: Path | None = typer.Option(
        None,
        "--report",
        metavar="REPORT.json",
        help="Write the match-quality report (estimated precision/recall/F1, borderline pairs).",
    ),
) -> None:
    """Link two customer files probabilistically; write left_id,right_id,match_probability.

    Columns are recognised by header: id (required, unique), family_name, given_name,
    family_name_kana, given_name_kana, birth_date, sex, postal_code, address, phone, email.
    """
    if threshold is not None and not 0.0 < threshold <= 1.0:
        typer.echo(f"error: --threshold must be in (0, 1], not {threshold}", err=True)
        raise typer.Exit(BAD_INPUT)
    try:
        result = link_files(
            left, right, out, threshold=threshold, all_candidates=all_candidates, report=report
        )
    except (LinkageFileError, LinkageError) as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(BAD_INPUT) from None
    estimate = result.report.estimate
    typer.echo(
        f"linked {result.pairs.num_rows} pairs at threshold {result.threshold:.4f} "
        f"({result.report.threshold_source}; expected precision {estimate.precision:.3f}, "
        f"recall {estimate.recall:.3f}) into {out}",
        err=True,
    )
