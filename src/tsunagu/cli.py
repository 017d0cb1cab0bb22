"""The ``tsunagu`` command line (Typer): mounts each domain's commands."""

import typer

app = typer.Typer(no_args_is_help=True, help="tsunagu — people own the data held about them.")


@app.command()
def version() -> None:
    """Print the version."""
    import tsunagu

    typer.echo(tsunagu.__version__)


def main() -> None:
    app()
