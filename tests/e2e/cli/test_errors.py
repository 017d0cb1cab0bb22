"""Failures the CLI reports as one line on stderr, never a traceback."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.cli.conftest import Cli, one_error_line


class TestUnreachableDatabase:
    def test_unreachable_postgresql_is_one_line_and_status_1(self, cli: Cli) -> None:
        # nothing listens on port 1
        url = "postgresql://nobody@127.0.0.1:1/tsunagu"

        result = cli(
            "org", "create", "acme", "--name", "Acme", extra_env={"TSUNAGU_DATABASE_URL": url}
        )

        assert result.returncode == 1
        assert "database" in one_error_line(result)

    def test_unknown_database_scheme_is_one_line(self, cli: Cli) -> None:
        result = cli("db", "upgrade", extra_env={"TSUNAGU_DATABASE_URL": "nosuchdb://x"})

        assert result.returncode == 1
        one_error_line(result)


class TestBadSetting:
    def test_malformed_setting_names_the_variable(self, cli: Cli) -> None:
        result = cli("db", "upgrade", extra_env={"TSUNAGU_MAX_BODY_BYTES": "lots"})

        assert result.returncode == 1
        assert "TSUNAGU_MAX_BODY_BYTES" in one_error_line(result)


class TestUnwritableHome:
    def test_home_that_is_a_file_is_one_line(self, cli: Cli, tmp_path: Path) -> None:
        blocker = tmp_path / "not-a-folder"
        blocker.write_text("")

        result = cli("db", "upgrade", extra_env={"TSUNAGU_HOME": str(blocker / "home")})

        assert result.returncode == 1
        assert "not-a-folder" in one_error_line(result)
