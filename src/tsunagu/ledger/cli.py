"""CLI of the ledger: verification anyone can run, and the witness.

::

    tsunagu ledger key
    tsunagu ledger verify [--json]
    tsunagu ledger verify-remote BASE_URL [--key API_KEY] [--log-key VKEY] [--json]
    tsunagu witness init --home DIR --name NAME --log-key VKEY
    tsunagu witness run BASE_URL --home DIR [--once] [--interval SECONDS]
    tsunagu witness status --home DIR [--json]

Exit status: 0 when everything verifies (or the witness cosigned), 1 when the log does not
verify or a command fails (one ``error: …`` line on stderr, rendered by ``tsunagu.cli``), 2
for a bad option, 3 when a witness refused a checkpoint because the log forked or rewrote
its history (``alarm: …`` on stderr).  Results go to stdout, progress and notes to stderr.

The ledger sits below identity (DESIGN.md §4), so this module opens the database through
``core`` itself rather than through ``identity.cli.open_database``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress
from sqlalchemy.orm import Session, sessionmaker

from tsunagu.core.clock import utcnow
from tsunagu.core.database import make_engine, make_session_factory, migrate
from tsunagu.core.errors import AppError
from tsunagu.core.settings import Settings, get_settings
from tsunagu.ledger.auditor import RemoteError, RemoteLog, VerifyReport, verify_remote
from tsunagu.ledger.note import NoteError, Signer, Verifier
from tsunagu.ledger.verify import verify_stored
from tsunagu.ledger.witness import Verdict, WitnessError, WitnessHome, WitnessState, run_round

ledger_app = typer.Typer(help="The transparency ledger: verification.", no_args_is_help=True)
witness_app = typer.Typer(
    help="A witness that cosigns the ledger's checkpoints.", no_args_is_help=True
)

EXIT_ALARM = 3

_stderr = Console(stderr=True)


class CommandFailed(AppError):
    """A ledger or witness command could not do its work (one line on stderr, exit 1)."""

    code = "command_failed"


# --- helpers ------------------------------------------------------------------------------


def _open_database(settings: Settings) -> sessionmaker[Session]:
    engine = make_engine(settings.resolved_database_url())
    migrate(engine)
    return make_session_factory(engine)


def log_verifier(settings: Settings) -> Verifier:
    """The verifier of this instance's log key (from settings or the key file in home)."""
    signer = Signer.from_seed(settings.ledger_origin, settings.resolved_ledger_signing_seed())
    return Verifier(signer.name, signer.public_key)


@contextmanager
def _progress(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A Rich progress bar on stderr when a person watches; nothing for scripts."""
    if not _stderr.is_terminal:
        yield None
        return
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with RichProgress(*columns, console=_stderr, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _note(message: str) -> None:
    _stderr.print(message, markup=False, highlight=False, soft_wrap=True)


def _report_json(report: VerifyReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "size": report.size,
        "checkpoints": report.checkpoints,
        "first_bad_index": report.first_bad_index,
        "problems": report.problems,
    }


def _finish(report: VerifyReport, as_json: bool, what: str) -> None:
    if as_json:
        typer.echo(json.dumps(_report_json(report), indent=2))
    elif report.ok:
        plural = "" if report.checkpoints == 1 else "s"
        typer.echo(f"{what}: size {report.size}, {report.checkpoints} checkpoint{plural} checked")
        typer.echo("OK")
    if report.ok:
        return
    more = len(report.problems) - 1
    extra = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    where = (
        f"first bad index {report.first_bad_index}: " if report.first_bad_index is not None else ""
    )
    raise CommandFailed(f"{where}{report.problems[0]}{extra}")


# --- tsunagu ledger ------------------------------------------------------------------------


@ledger_app.command("key")
def key() -> None:
    """Print this instance's log verifier key (vkey text), to hand to witnesses."""
    settings = get_settings()
    signer = Signer.from_seed(settings.ledger_origin, settings.resolved_ledger_signing_seed())
    typer.echo(signer.vkey())


@ledger_app.command("verify")
def verify(
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Recompute the whole stored log (entries, subtree hashes, signed checkpoints)."""
    settings = get_settings()
    log = log_verifier(settings)
    factory = _open_database(settings)
    with factory() as session, _progress("verifying") as progress:
        report = verify_stored(session, log, progress=progress)
    _finish(report, as_json, "ledger verified")


@ledger_app.command("verify-remote")
def verify_remote_command(
    base_url: str = typer.Argument(..., help="The instance, e.g. http://127.0.0.1:8000"),
    key: str | None = typer.Option(
        None, "--key", help="An organization's or witness's API key (to read entries)."
    ),
    log_key: str | None = typer.Option(
        None,
        "--log-key",
        help="The log's verifier key (vkey text) given out of band; "
        "without it the key the server publishes is trusted.",
    ),
    timeout: float = typer.Option(30.0, "--timeout", min=0.1, help="Seconds per request."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Check a running instance through its HTTP API alone."""
    remote = RemoteLog(base_url, api_key=key, timeout=timeout)
    try:
        with _progress("fetching") as progress:
            report = verify_remote(remote, log_key, progress=progress)
    except RemoteError as exc:
        raise CommandFailed(str(exc)) from exc
    except NoteError as exc:
        raise CommandFailed(f"the log's checkpoint or key does not verify: {exc}") from exc
    if log_key is None and report.ok:
        _note("note: no --log-key given: the key the server publishes was trusted")
    _finish(report, as_json, f"{base_url} verified")


# --- tsunagu witness -----------------------------------------------------------------------

_HOME = typer.Option(..., "--home", help="The witness's directory (its key and state).")


@witness_app.command("init")
def witness_init(
    home: Path = _HOME,
    name: str = typer.Option(..., "--name", help="The witness's name, e.g. witness.example/w1."),
    log_key: str = typer.Option(..., "--log-key", help="The log's verifier key (vkey text)."),
) -> None:
    """Create a witness: its Ed25519 key and its state, pinned to one log's key."""
    try:
        signer = WitnessHome(home).init(name, log_key, utcnow())
    except WitnessError as exc:
        raise CommandFailed(str(exc)) from exc
    _note(f"witness created in {home}; register this key with the log (an admin's API key):")
    _note('  POST /api/v1/ledger/witnesses {"vkey": "<the key below>"}')
    typer.echo(signer.vkey())


def _round(remote: RemoteLog, home: WitnessHome) -> int:
    """One round; returns the exit status it deserves."""
    result = run_round(remote, home, utcnow())
    decision, size = result.decision, result.checkpoint.size
    if decision.verdict is Verdict.REFUSE:
        _note(f"alarm: {decision.reason}")
        if result.delivery_problem:
            _note(f"note: {result.delivery_problem}")
        return EXIT_ALARM
    if decision.verdict is Verdict.COSIGN:
        typer.echo(f"cosigned size {size}: {decision.reason}")
    else:
        typer.echo(f"unchanged: {decision.reason}")
    if result.delivery_problem:
        raise CommandFailed(result.delivery_problem)
    return 0


@witness_app.command("run")
def witness_run(
    base_url: str = typer.Argument(..., help="The log's instance, e.g. http://127.0.0.1:8000"),
    home: Path = _HOME,
    once: bool = typer.Option(False, "--once", help="One round, then exit (3 on an alarm)."),
    interval: float = typer.Option(30.0, "--interval", min=0.1, help="Seconds between rounds."),
    timeout: float = typer.Option(30.0, "--timeout", min=0.1, help="Seconds per request."),
) -> None:
    """Watch a log: cosign each checkpoint that extends the last one, refuse forks."""
    witness = WitnessHome(home)
    remote = RemoteLog(base_url, timeout=timeout)
    while True:
        try:
            status = _round(remote, witness)
        except (RemoteError, WitnessError) as exc:
            if once:
                raise CommandFailed(str(exc)) from exc
            _note(f"error: {exc}")
        except CommandFailed as exc:
            if once:
                raise
            _note(f"error: {exc.message}")
        else:
            if once:
                raise typer.Exit(status)
        time.sleep(interval)


def _status_json(state: WitnessState, vkey: str) -> dict[str, Any]:
    data = state.to_json()
    data.pop("cosigned_note", None)
    data["vkey"] = vkey
    return data


@witness_app.command("status")
def witness_status(
    home: Path = _HOME,
    as_json: bool = typer.Option(False, "--json", help="Print the state as JSON."),
) -> None:
    """What the witness last cosigned, and the alarms it raised."""
    witness = WitnessHome(home)
    try:
        state = witness.load()
        vkey = witness.signer(state).vkey()
    except WitnessError as exc:
        raise CommandFailed(str(exc)) from exc
    if as_json:
        typer.echo(json.dumps(_status_json(state, vkey), indent=2, sort_keys=True))
        return
    typer.echo(f"witness     {state.name}")
    typer.echo(f"key         {vkey}")
    typer.echo(f"log key     {state.log_vkey}")
    if state.size is None:
        typer.echo("cosigned    nothing yet")
    else:
        delivered = "delivered" if state.delivered else "not delivered yet"
        typer.echo(f"cosigned    size {state.size} at {state.cosigned_at} ({delivered})")
        typer.echo(f"root        {state.root}")
    if state.trusted_first_use:
        first = state.trusted_first_use
        typer.echo(f"first seen  size {first['size']} at {first['at']} (trusted on first use)")
    typer.echo(f"alarms      {len(state.alarms)}")
    for alarm in state.alarms:
        times = f"×{alarm.count}, last {alarm.last_seen}" if alarm.count > 1 else ""
        typer.echo(f"  {alarm.first_seen}  {alarm.detail} {times}".rstrip())
