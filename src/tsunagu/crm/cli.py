"""``tsunagu crm …`` commands (thin: parse, open a unit of work, call the services, print).

::

    tsunagu crm import-transitions --org SLUG FILE.csv [--encoding auto|utf-8|cp932]
    tsunagu crm export-transitions --org SLUG [-o FILE.csv]
    tsunagu crm metrics --org SLUG --start 2026-01-05 --end 2026-04-06 [--period week|month]
                        [--window-days 90]
    tsunagu crm stages --org SLUG

Every command works on the configured database (``TSUNAGU_HOME`` /
``TSUNAGU_DATABASE_URL``, migrated first) and commits once at the end.  Errors are raised,
not printed: ``tsunagu.cli.run`` turns an ``AppError`` into one ``error: …`` line on stderr
and exit status 1; a failed import prints its first row errors under that line.  Results for
scripts go to stdout: a count, CSV (``export-transitions``) or JSON (``metrics``, ``stages``).
"""

from __future__ import annotations

import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson
import typer
from rich.console import Console

from tsunagu.core.database import unit_of_work
from tsunagu.core.errors import InvalidInput
from tsunagu.core.settings import get_settings
from tsunagu.crm import manage, service
from tsunagu.crm.importing import import_transitions
from tsunagu.crm.metrics import MetricsQuery, report
from tsunagu.identity import service as identity
from tsunagu.identity.cli import open_database
from tsunagu.identity.import_cli import Encoding, print_import_errors

crm_app = typer.Typer(help="THE MODEL pipeline: import transitions, metrics.", no_args_is_help=True)

#: the actor the imported transitions name for an operator at the command line
OPERATOR = "operator"


class Period(StrEnum):
    week = "week"
    month = "month"


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value.strip().replace("/", "-"))
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date like 2026-04-01", param_hint=option
        ) from None


def _print_json(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
    sys.stdout.flush()


@crm_app.command("import-transitions")
def import_command(
    file: Path = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        readable=True,
        metavar="FILE",
        help="A CSV file: entity_id,from_stage,to_stage,at,amount.",
    ),
    org: str = typer.Option(..., "--org", help="Slug of the organization."),
    encoding: Encoding = typer.Option(
        Encoding.auto, "--encoding", help="Text encoding; auto tries UTF-8 then CP932."
    ),
) -> None:
    """Import transition history from a CSV file: every row, or none.

    Columns: entity_id (the organization's ref; unknown refs become entities), from_stage
    (empty for an entity's first event), to_stage, at (ISO 8601 with offset, e.g.
    2026-04-01T10:00:00+09:00), amount (optional, yen).
    """
    data = file.read_bytes()
    stderr = Console(stderr=True)
    try:
        with unit_of_work(open_database(get_settings())) as session:
            organization = identity.get_organization_by_slug(session, org)
            result = import_transitions(
                session,
                organization.id,
                data,
                actor=OPERATOR,
                encoding=None if encoding is Encoding.auto else encoding.value,
            )
    except InvalidInput as exc:
        if not exc.errors:
            raise
        print_import_errors(stderr, file, exc)
        raise typer.Exit(1) from None
    typer.echo(f"imported {result.imported} transitions ({result.created_entities} new entities)")


@crm_app.command("export-transitions")
def export_command(
    org: str = typer.Option(..., "--org", help="Slug of the organization."),
    output: Path | None = typer.Option(
        None, "-o", "--output", dir_okay=False, help="Write the CSV here instead of stdout."
    ),
) -> None:
    """Write the organization's transitions as the CSV import-transitions reads (UTF-8 with
    BOM, times in the organization's time zone)."""
    with unit_of_work(open_database(get_settings())) as session:
        organization = identity.get_organization_by_slug(session, org)
        text, count = manage.transitions_csv(session, organization.id)
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        output.write_text(text, encoding="utf-8", newline="")
        typer.echo(f"wrote {count} transitions to {output}", err=True)


@crm_app.command("metrics")
def metrics_command(
    org: str = typer.Option(..., "--org", help="Slug of the organization."),
    start: str = typer.Option(..., "--start", help="First day, 2026-01-05 (org's time zone)."),
    end: str = typer.Option(
        ..., "--end", help="The day after the last: the range is [start, end)."
    ),
    period: Period = typer.Option(Period.week, "--period", help="Calendar weeks or months."),
    window_days: int = typer.Option(90, "--window-days", min=1, help="Conversion window."),
) -> None:
    """Print the metrics report (flow, balance, conversion, bottleneck …) as JSON."""
    first, last = _day(start, "--start"), _day(end, "--end")
    with unit_of_work(open_database(get_settings())) as session:
        organization = identity.get_organization_by_slug(session, org)
        query = MetricsQuery(
            start=first,
            end=last,
            period="month" if period is Period.month else "week",
            timezone=service.organization_timezone(session, organization.id),
            window_days=window_days,
        )
        data = report(session, organization.id, query)
    _print_json(data)


@crm_app.command("stages")
def stages_command(
    org: str = typer.Option(..., "--org", help="Slug of the organization."),
) -> None:
    """Print the organization's stage model (stages, main line, allowed moves) as JSON."""
    with unit_of_work(open_database(get_settings())) as session:
        organization = identity.get_organization_by_slug(session, org)
        data = manage.model_as_data(service.load_model(session, organization.id))
    _print_json(data)
