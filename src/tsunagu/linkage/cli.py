"""``tsunagu linkage …``: link two customer files, evaluate linkage before a collaboration."""

from __future__ import annotations

import typer

linkage_app = typer.Typer(help="Linkage: link customer files across organizations.")
