"""``tsunagu user create --org SLUG --email EMAIL --role ROLE`` with its password sources."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.e2e.cli.conftest import Cli, one_error_line
from tsunagu.identity import service
from tsunagu.identity.errors import InvalidCredentials

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def org(cli: Cli) -> str:
    result = cli("org", "create", "acme", "--name", "Acme")
    assert result.returncode == 0, result.stderr
    return "acme"


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "password.txt"
    path.write_text(PASSWORD + "\n")
    return path


def role_after_sign_in(engine: Engine, email: str, password: str) -> str:
    with Session(engine) as session:
        _user, membership = service.authenticate_staff(session, email=email, password=password)
        return membership.role


class TestUserCreate:
    def test_password_file_sets_the_password(
        self, cli: Cli, org: str, password_file: Path, home_engine: Engine
    ) -> None:
        result = cli(
            "user", "create", "--org", org, "--email", "Aiko@Example.jp", "--role", "admin",
            "--name", "佐藤 愛子", "--password-file", str(password_file),
        )  # fmt: skip

        assert result.returncode == 0, result.stderr
        assert role_after_sign_in(home_engine, "aiko@example.jp", PASSWORD) == "admin"

    def test_password_can_be_piped_on_stdin(self, cli: Cli, org: str, home_engine: Engine) -> None:
        result = cli(
            "user", "create", "--org", org, "--email", "ken@example.jp", "--role", "viewer",
            stdin=PASSWORD + "\n",
        )  # fmt: skip

        assert result.returncode == 0, result.stderr
        assert role_after_sign_in(home_engine, "ken@example.jp", PASSWORD) == "viewer"

    def test_other_password_does_not_sign_in(
        self, cli: Cli, org: str, password_file: Path, home_engine: Engine
    ) -> None:
        cli(
            "user", "create", "--org", org, "--email", "ken@example.jp",
            "--password-file", str(password_file),
        )  # fmt: skip

        with pytest.raises(InvalidCredentials):
            role_after_sign_in(home_engine, "ken@example.jp", "not-the-password")

    def test_unknown_organization_fails_with_one_line(self, cli: Cli, password_file: Path) -> None:
        result = cli(
            "user", "create", "--org", "nowhere", "--email", "ken@example.jp",
            "--password-file", str(password_file),
        )  # fmt: skip

        assert result.returncode == 1
        assert one_error_line(result) == "error: no organization with the slug 'nowhere'"

    def test_short_password_fails_with_one_line(self, cli: Cli, org: str, tmp_path: Path) -> None:
        short = tmp_path / "short.txt"
        short.write_text("abc\n")

        result = cli(
            "user", "create", "--org", org, "--email", "ken@example.jp",
            "--password-file", str(short),
        )  # fmt: skip

        assert result.returncode == 1
        assert "12 characters" in one_error_line(result)

    def test_missing_password_file_is_a_usage_error(
        self, cli: Cli, org: str, tmp_path: Path
    ) -> None:
        result = cli(
            "user", "create", "--org", org, "--email", "ken@example.jp",
            "--password-file", str(tmp_path / "absent.txt"),
        )  # fmt: skip

        assert result.returncode == 2
        assert "absent.txt" in one_error_line(result)

    def test_invalid_email_is_a_usage_error(self, cli: Cli, org: str, password_file: Path) -> None:
        result = cli(
            "user", "create", "--org", org, "--email", "not-an-address",
            "--password-file", str(password_file),
        )  # fmt: skip

        assert result.returncode == 2
        assert "--email" in one_error_line(result)

    def test_unknown_role_is_a_usage_error(self, cli: Cli, org: str, password_file: Path) -> None:
        result = cli(
            "user", "create", "--org", org, "--email", "ken@example.jp", "--role", "king",
            "--password-file", str(password_file),
        )  # fmt: skip

        assert result.returncode == 2
        assert "--role" in one_error_line(result)

    def test_same_member_twice_fails_with_one_line(
        self, cli: Cli, org: str, password_file: Path
    ) -> None:
        args = ("user", "create", "--org", org, "--email", "ken@example.jp")
        cli(*args, "--password-file", str(password_file))

        result = cli(*args, "--password-file", str(password_file))

        assert result.returncode == 1
        assert "already registered" in one_error_line(result)
