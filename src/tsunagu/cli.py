"""The ``tsunagu`` command line (Typer): the root that mounts each domain's commands.

::

    tsunagu serve [--host 127.0.0.1] [--port 8000]
    tsunagu demo [--no-serve] [--host …] [--port …]
    tsunagu db upgrade
    tsunagu org create SLUG --name NAME [--kind company|municipality|hospital|association]
    tsunagu user create --org SLUG --email EMAIL --role ROLE [--name …] [--password-file PATH]
    tsunagu apikey create --org SLUG --name LABEL [--role admin|member|viewer]
    tsunagu person import …
    tsunagu ledger key | verify [--json] | verify-remote BASE_URL [--key KEY] [--log-key VKEY]
    tsunagu witness init|run|status --home DIR …
    tsunagu vault import|provisions|rotate-keys|purge-provisions …
    tsunagu consent expire|guardian …
    tsunagu crm import-transitions --org SLUG FILE.csv
    tsunagu crm export-transitions|metrics|stages --org SLUG …
    tsunagu cases deliver|remind|worker|reindex
    tsunagu linkage link LEFT.csv RIGHT.csv --out PAIRS.csv [--threshold P]
                         [--all-candidates] [--report REPORT.json]
    tsunagu version

These forms are a contract that scripts rely on.  Every command reads ``TSUNAGU_HOME`` and
``TSUNAGU_DATABASE_URL`` and migrates an empty database before use.  ``main`` is the one
place where failures become output: an ``AppError`` (or an unreachable database, or an
unreadable file) is one ``error: …`` line on stderr and exit status 1; a bad option or
argument is one line and exit status 2; never a traceback (``TSUNAGU_DEBUG=1`` shows it).
Progress bars and notes go to stderr so that stdout stays clean for scripts.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from tsunagu.cases.cli import cases_app
from tsunagu.core.database import current_revision, make_engine, migrate, unit_of_work
from tsunagu.core.errors import AppError
from tsunagu.core.settings import get_settings
from tsunagu.crm.cli import crm_app
from tsunagu.identity.cli import apikey_app, open_database, org_app, user_app
from tsunagu.identity.import_cli import person_app
from tsunagu.ledger.cli import ledger_app, witness_app
from tsunagu.linkage.cli import linkage_app
from tsunagu.vault.cli import consent_app, vault_app

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="tsunagu — people own the data organizations hold about them.",
)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)

app.add_typer(db_app, name="db")
app.add_typer(org_app, name="org")
app.add_typer(user_app, name="user")
app.add_typer(apikey_app, name="apikey")
app.add_typer(person_app, name="person")
app.add_typer(ledger_app, name="ledger")
app.add_typer(witness_app, name="witness")
app.add_typer(vault_app, name="vault")
app.add_typer(consent_app, name="consent")
app.add_typer(crm_app, name="crm")
app.add_typer(linkage_app, name="linkage")
app.add_typer(cases_app, name="cases")

_stderr = Console(stderr=True)


class _BarProgress:
    """Adapts ``tsunagu.demo.Progress`` to a Rich progress bar on stderr."""

    def __init__(self, bar: RichProgress) -> None:
        self._bar = bar
        self._task: TaskID | None = None

    def start(self, label: str, total: int) -> None:
        self._task = self._bar.add_task(label, total=total)

    def advance(self, amount: int) -> None:
        if self._task is not None:
            self._bar.advance(self._task, amount)


def _progress_bar() -> RichProgress:
    return RichProgress(
        TextColumn("{task.description:>14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_stderr,
        transient=False,
    )


def _serve(host: str, port: int) -> None:
    import uvicorn

    from tsunagu.web.app import create_app

    settings = get_settings()
    if "TSUNAGU_LOG_JSON" not in os.environ and sys.stderr.isatty():
        # a person is watching: readable log lines unless JSON was asked for explicitly
        settings = settings.model_copy(update={"log_json": False})
    application = create_app(settings)
    # logging is configured by create_app (JSON lines or readable lines per settings)
    uvicorn.run(application, host=host, port=port, log_config=None, access_log=False)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
) -> None:
    """Serve the web app and the API (migrating the database first)."""
    typer.echo(f"tsunagu {_version()} serving on http://{host}:{port}", err=True)
    _serve(host, port)


@app.command()
def demo(
    no_serve: bool = typer.Option(False, "--no-serve", help="Build the demo world and exit."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
) -> None:
    """Build the deterministic demo world (safe to re-run), then serve it."""
    from tsunagu.demo import build_world
    from tsunagu.demo.organizations import ORGANIZATIONS
    from tsunagu.demo.persons import PORTAL_PERSONS

    factory = open_database()
    started = time.monotonic()
    with _progress_bar() as bar, unit_of_work(factory) as session:
        summary = build_world(session, progress=_BarProgress(bar))
    elapsed = time.monotonic() - started

    typer.echo(f"demo world ready in {elapsed:.1f} s")
    for report in summary.reports:
        typer.echo(f"  {report.name:<16}{report.total:>8,}  ({report.created:,} new)")
    typer.echo("")
    typer.echo(f"open http://{host}:{port}")
    typer.echo(f"every demo account's password: {summary.password}")
    typer.echo(f"staff console (sign in at http://{host}:{port}/signin):")
    names = {org.slug: org.name for org in ORGANIZATIONS}
    for staff in summary.staff:
        typer.echo(f"  {staff.email:<36}{staff.role:<8}{names[staff.org_slug]}")
    typer.echo(f"personal portal (sign in at http://{host}:{port}/portal/signin):")
    for person in PORTAL_PERSONS:
        typer.echo(f"  {person.email:<36}{person.family_name} {person.given_name}")
    if not no_serve:
        typer.echo("")
        _serve(host, port)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the latest schema (idempotent)."""
    engine = make_engine(get_settings().resolved_database_url())
    try:
        migrate(engine)
        typer.echo(f"database at revision {current_revision(engine)}")
    finally:
        engine.dispose()


def _version() -> str:
    import tsunagu

    return tsunagu.__version__


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(_version())


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def _fail(message: str, status: int) -> int:
    _stderr.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    return status


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv``; return the exit status instead of exiting."""
    command = typer.main.get_command(app)
    try:
        result = command.main(
            args=list(argv) if argv is not None else None,
            prog_name="tsunagu",
            standalone_mode=False,
        )
    except typer.Abort:
        return _fail("aborted", 1)
    except typer.TyperException as exc:
        # usage errors (bad option, missing argument, bad value) carry exit status 2
        return _fail(_first_line(exc.format_message()), exc.exit_code or 1)
    except AppError as exc:
        return _fail(exc.message, 1)
    except ValidationError as exc:
        # only Settings are validated outside a service: a bad TSUNAGU_* variable
        problems = "; ".join(
            f"TSUNAGU_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
        return _fail(f"invalid setting: {problems}", 1)
    except DBAPIError as exc:
        if os.environ.get("TSUNAGU_DEBUG"):
            raise
        return _fail(f"the database failed: {_first_line(str(exc.orig))}", 1)
    except SQLAlchemyError as exc:
        if os.environ.get("TSUNAGU_DEBUG"):
            raise
        return _fail(f"the database failed: {_first_line(str(exc))}", 1)
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        return _fail(f"{exc.strerror or exc}{where}", 1)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if os.environ.get("TSUNAGU_DEBUG"):
            raise
        return _fail(
            f"unexpected {type(exc).__name__}: {_first_line(str(exc))} "
            "(run again with TSUNAGU_DEBUG=1 for the traceback)",
            1,
        )
    return result if isinstance(result, int) else 0


def main() -> None:
    """Console-script entry point (``tsunagu``)."""
    sys.exit(run())


if __name__ == "__main__":
    main()
