"""``tsunagu --help``, ``version`` and ``db upgrade``."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.cli.conftest import Cli, one_error_line
from tsunagu import __version__

COMMANDS = ("serve", "demo", "db", "org", "user", "apikey", "person", "version")


class TestHelp:
    def test_help_lists_every_command(self, cli: Cli) -> None:
        result = cli("--help")

        assert result.returncode == 0
        listed = {line.strip(" │").split(" ", 1)[0] for line in result.stdout.splitlines()}
        assert set(COMMANDS) <= listed

    def test_no_arguments_shows_the_help(self, cli: Cli) -> None:
        result = cli()

        assert "Usage" in result.stdout
        assert "serve" in result.stdout

    def test_unknown_command_is_a_usage_error(self, cli: Cli) -> None:
        result = cli("frobnicate")

        assert result.returncode == 2
        assert "frobnicate" in one_error_line(result)


class TestVersion:
    def test_prints_the_package_version(self, cli: Cli) -> None:
        result = cli("version")

        assert result.returncode == 0
        assert result.stdout.strip() == __version__


class TestDbUpgrade:
    def test_migrates_an_empty_home(self, cli: Cli, home: Path) -> None:
        result = cli("db", "upgrade")

        assert result.returncode == 0, result.stderr
        assert (home / "tsunagu.db").exists()
        assert "database at revision" in result.stdout

    def test_running_twice_is_harmless(self, cli: Cli) -> None:
        cli("db", "upgrade")

        again = cli("db", "upgrade")

        assert again.returncode == 0, again.stderr
