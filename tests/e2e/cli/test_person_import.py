"""``tsunagu person import FILE``: persons from a CSV, all rows or none, run as a subprocess."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.e2e.cli.conftest import Cli, count, last_line
from tsunagu.identity.models import Person

CP932_FILE = (
    "氏,名,セイ,メイ,メールアドレス,生年月日\r\n"
    "髙橋,一郎,タカハシ,ｲﾁﾛｳ,ichiro@example.jp,1957/3/29\r\n"
)


class TestPersonImport:
    def test_cp932_file_is_imported_with_a_mapping(
        self, cli: Cli, tmp_path: Path, home_engine: Engine
    ) -> None:
        path = tmp_path / "persons.csv"
        path.write_bytes(CP932_FILE.encode("cp932"))
        result = cli("person", "import", str(path), "--map", "氏=family_name")
        assert result.returncode == 0, result.stderr
        assert last_line(result.stdout) == "imported 1 persons"
        with Session(home_engine) as session:
            person = session.scalar(select(Person).where(Person.email == "ichiro@example.jp"))
            assert person is not None
            assert (person.family_name, person.given_name_kana) == ("髙橋", "イチロウ")

    def test_forced_encoding_that_does_not_fit_fails_with_one_line(
        self, cli: Cli, tmp_path: Path
    ) -> None:
        path = tmp_path / "persons.csv"
        path.write_bytes(CP932_FILE.encode("cp932"))
        result = cli("person", "import", str(path), "--encoding", "utf-8")
        assert result.returncode == 1
        errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1
        assert "not valid utf-8" in errors[0]

    def test_bad_row_imports_nothing_and_lists_the_row(
        self, cli: Cli, tmp_path: Path, home_engine: Engine
    ) -> None:
        path = tmp_path / "persons.csv"
        path.write_text(
            "family_name,given_name,email\n山田,太郎,a@example.jp\n田中,,b@example.jp\n"
        )
        result = cli("person", "import", str(path))
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert "error: " in result.stderr
        assert "row 3, column given_name: is required" in result.stderr
        assert count(home_engine, Person) == 0

    def test_bad_mapping_is_a_usage_error(self, cli: Cli, tmp_path: Path) -> None:
        path = tmp_path / "persons.csv"
        path.write_text("family_name,given_name\n山田,太郎\n")
        result = cli("person", "import", str(path), "--map", "nonsense")
        assert result.returncode == 2
        assert "FILE_COLUMN=field" in result.stderr
