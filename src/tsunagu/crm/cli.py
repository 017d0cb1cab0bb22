"""``tsunagu crm …`` commands (to be written)."""

from __future__ import annotations

import typer

crm_app = typer.Typer(help="THE MODEL pipeline: import transitions, metrics.", no_args_is_help=True)
