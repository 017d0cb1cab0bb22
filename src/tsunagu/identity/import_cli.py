"""CLI commands that import identity data in bulk: ``tsunagu person import FILE``.

Persons belong to no organization, so importing them is an operator's job, done here on the
configured database (``TSUNAGU_HOME`` / ``TSUNAGU_DATABASE_URL``, migrated first) in one
transaction: a file with one bad row imports nothing.  Progress goes to stderr; on success
stdout gets ``imported N persons``; on failure stderr gets one ``error: …`` line and the
first row errors, and the exit status is 1.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tsunagu.core.database import make_engine, make_session_factory, migrate, unit_of_work
from tsunagu.core.errors import InvalidInput
from tsunagu.core.imports import Stage
from tsunagu.core.settings import get_settings
from tsunagu.identity.importing import import_persons

person_app = typer.Typer(help="Persons (data subjects).", no_args_is_help=True)

#: how many row errors the command prints under the error line
SHOWN_ROW_ERRORS = 10


def print_import_errors(console: Console, file: object, exc: InvalidInput) -> None:
    """The error line of a refused import, then its first row errors (row, column, reason)
    and how many more there are — the same report for every ``… import`` command."""
    console.print(f"error: {file}: {exc.message}", markup=False, highlight=False, soft_wrap=True)
    for item in exc.errors[:SHOWN_ROW_ERRORS]:
        column = f", column {item['column']}" if item.get("column") else ""
        console.print(
            f"  row {item['row']}{column}: {item['reason']}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    if len(exc.errors) > SHOWN_ROW_ERRORS:
        console.print(f"  … and {len(exc.errors) - SHOWN_ROW_ERRORS} more", markup=False)


class Encoding(StrEnum):
    auto = "auto"
    utf_8 = "utf-8"
    cp932 = "cp932"


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """``["氏=family_name", …]`` as ``{"氏": "family_name", …}``."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        source, sep, target = pair.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise typer.BadParameter(f"{pair!r} is not FILE_COLUMN=field", param_hint="--map")
        mapping[source.strip()] = target.strip()
    return mapping


@person_app.command("import")
def import_command(
    file: Path = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        readable=True,
        metavar="FILE",
        help="A CSV file, header row first.",
    ),
    encoding: Encoding = typer.Option(
        Encoding.auto, "--encoding", help="Text encoding; auto tries UTF-8 then CP932."
    ),
    mapping: list[str] = typer.Option(
        [],
        "--map",
        metavar="FILE_COLUMN=FIELD",
        help="Map a file column to a field, e.g. --map 氏=family_name (repeatable).",
    ),
) -> None:
    """Import persons from a CSV file: every row, or none.

    Fields: family_name, given_name (required), family_name_kana, given_name_kana, email,
    phone, postal_code, address, birth_date.  Japanese headers (姓, 名, セイ, メイ,
    メールアドレス, 電話番号, 郵便番号, 住所, 生年月日) are understood.
    """
    columns = parse_mapping(mapping)
    data = file.read_bytes()
    settings = get_settings()
    engine = make_engine(settings.resolved_database_url())
    stderr = Console(stderr=True)
    try:
        migrate(engine)
        factory = make_session_factory(engine)
        bar = Progress(
            TextColumn("{task.description:>10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=stderr,
        )
        tasks = {
            "validating": bar.add_task("validating", total=None),
            "writing": bar.add_task("writing", total=None, visible=False),
        }

        def progress(stage: Stage, done: int, total: int) -> None:
            if stage == "writing":
                bar.update(tasks["validating"], completed=total, total=total)
            bar.update(tasks[stage], completed=done, total=total or None, visible=True)

        try:
            with bar, unit_of_work(factory) as session:
                result = import_persons(
                    session,
                    data,
                    encoding=None if encoding is Encoding.auto else encoding.value,
                    mapping=columns,
                    progress=progress,
                )
        except InvalidInput as exc:
            print_import_errors(stderr, file, exc)
            raise typer.Exit(1) from None
    finally:
        engine.dispose()
    typer.echo(f"imported {result.imported} persons")
