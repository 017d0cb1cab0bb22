"""CLI commands that import identity data in bulk."""

import typer

person_app = typer.Typer(help="Persons (data subjects).", no_args_is_help=True)
