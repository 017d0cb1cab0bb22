"""``tsunagu cases …``: deliver queued e-mails and webhooks, send due-date reminders."""

from __future__ import annotations

import typer

cases_app = typer.Typer(help="Cases: notifications, reminders and webhook deliveries.")
