"""``tsunagu cases …``: deliver queued e-mails and webhooks, send due-date reminders.

::

    tsunagu cases deliver             one round: send due mails, deliver due webhooks
    tsunagu cases remind [--on DATE]  queue today's due-date reminders (DATE: YYYY-MM-DD)
    tsunagu cases worker              run the background sender until Ctrl-C
    tsunagu cases reindex             rebuild the full-text search index of every case

Every command works on the configured database (migrated first).
"""

from __future__ import annotations

import contextlib
import signal
from datetime import date
from types import FrameType

import typer

from tsunagu.cases import mailer, reminders, search, worker
from tsunagu.core.database import unit_of_work
from tsunagu.core.settings import get_settings
from tsunagu.identity.cli import open_database

cases_app = typer.Typer(help="Cases: notifications, reminders and webhook deliveries.")


@cases_app.command("deliver")
def deliver_command() -> None:
    """Send the queued e-mails and webhook deliveries that are due (one round)."""
    settings = get_settings()
    done = worker.run_round(open_database(settings), settings)
    typer.echo(
        f"mails: {done.mails.sent} sent, {done.mails.failed} failed; "
        f"webhooks: {done.deliveries.delivered} delivered, {done.deliveries.failed} failed, "
        f"{done.deliveries.dead} dead"
    )
    if not settings.smtp_host:
        typer.echo("SMTP is not configured (TSUNAGU_SMTP_HOST): mails stay queued")


@cases_app.command("remind")
def remind_command(
    on: str | None = typer.Option(
        None, "--on", metavar="DATE", help="Act as on this day (YYYY-MM-DD); default today."
    ),
) -> None:
    """Queue due-date reminders (once per case, per user, per day)."""
    day: date | None = None
    if on is not None:
        try:
            day = date.fromisoformat(on)
        except ValueError:
            raise typer.BadParameter("use YYYY-MM-DD", param_hint="--on") from None
    with unit_of_work(open_database(get_settings())) as session:
        count = reminders.queue_reminders(session, on=day)
        pending = mailer.pending_count(session)
    typer.echo(f"queued {count} reminders ({pending} mails waiting)")


@cases_app.command("reindex")
def reindex_command() -> None:
    """Rebuild the search index of every case (after a restore, or an upgrade of it)."""
    with unit_of_work(open_database(get_settings())) as session:
        count = search.reindex_all(session)
    typer.echo(f"reindexed {count} cases")


@cases_app.command("worker")
def worker_command() -> None:
    """Run the background sender in the foreground until Ctrl-C."""
    settings = get_settings()
    runner = worker.CasesWorker(open_database(settings), settings)

    def _stop(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        runner.stop(timeout=0)

    # Ctrl-C and SIGTERM end the loop between rounds; a KeyboardInterrupt in the middle of
    # a round could be swallowed by the database driver's clean-up and leave it running
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    with contextlib.suppress(KeyboardInterrupt):
        typer.echo(f"sending every {settings.cases_worker_interval_seconds} s; Ctrl-C stops")
        runner.run()
    typer.echo("stopped")
