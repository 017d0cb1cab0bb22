"""Fixtures of the notification CLI tests: those of ``tests/e2e/cli`` (the console script
run as a subprocess with its own home, and an engine on its database)."""

from tests.e2e.cli.conftest import cli, home, home_engine

__all__ = ["cli", "home", "home_engine"]
