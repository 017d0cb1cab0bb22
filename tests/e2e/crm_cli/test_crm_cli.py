"""``tsunagu crm …`` run as subprocesses on their own home: import transitions, print the
metrics report and the stage model."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.engine import Engine

from tests.e2e.cli.conftest import Cli, count, last_line, one_error_line
from tsunagu.crm.models import CrmEntity, CrmTransition

HISTORY = (
    "entity_id,from_stage,to_stage,at,amount\n"
    "A-1,,lead,2026-01-05T00:00:00+09:00,\n"
    "A-1,lead,nurturing,2026-01-12T00:00:00+09:00,\n"
    "B-1,,lead,2026-01-11T23:59:59+09:00,\n"
)


def write(tmp_path: Path, text: str, name: str = "history.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


class TestImportTransitions:
    def test_imports_every_row_and_prints_the_count(
        self, cli: Cli, tmp_path: Path, home_engine: Engine
    ) -> None:
        assert cli("org", "create", "hikari", "--name", "ひかり").returncode == 0

        result = cli("crm", "import-transitions", "--org", "hikari", str(write(tmp_path, HISTORY)))

        assert result.returncode == 0, result.stderr
        assert last_line(result.stdout) == "imported 3 transitions (2 new entities)"
        assert (count(home_engine, CrmTransition), count(home_engine, CrmEntity)) == (3, 2)

    def test_a_bad_row_imports_nothing_and_lists_the_row(
        self, cli: Cli, tmp_path: Path, home_engine: Engine
    ) -> None:
        assert cli("org", "create", "hikari", "--name", "ひかり").returncode == 0
        bad = HISTORY + "B-1,nurturing,promising,2026-01-20T00:00:00+09:00,\n"

        result = cli("crm", "import-transitions", "--org", "hikari", str(write(tmp_path, bad)))

        assert result.returncode == 1
        lines = result.stderr.strip().splitlines()
        assert lines[0].startswith("error: ")
        assert lines[1].startswith("  row 5, column from_stage:")
        assert count(home_engine, CrmTransition) == 0

    def test_export_writes_back_the_imported_rows(self, cli: Cli, tmp_path: Path) -> None:
        assert cli("org", "create", "hikari", "--name", "ひかり").returncode == 0
        cli("crm", "import-transitions", "--org", "hikari", str(write(tmp_path, HISTORY)))

        result = cli("crm", "export-transitions", "--org", "hikari")

        assert result.returncode == 0, result.stderr
        assert sorted(result.stdout.lstrip("\ufeff").splitlines()) == sorted(HISTORY.splitlines())

    def test_an_unknown_organization_is_one_error_line(self, cli: Cli, tmp_path: Path) -> None:
        result = cli("crm", "import-transitions", "--org", "nobody", str(write(tmp_path, HISTORY)))

        assert result.returncode == 1
        assert "nobody" in one_error_line(result)


class TestMetricsAndStages:
    def test_metrics_prints_the_report_as_json(self, cli: Cli, tmp_path: Path) -> None:
        assert cli("org", "create", "hikari", "--name", "ひかり").returncode == 0
        cli("crm", "import-transitions", "--org", "hikari", str(write(tmp_path, HISTORY)))

        result = cli(
            "crm", "metrics", "--org", "hikari", "--start", "2026-01-05", "--end", "2026-01-19"
        )

        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        flows = [{k: v for k, v in p["flow"].items() if v} for p in report["periods"]]
        assert flows == [{"lead": 2}, {"nurturing": 1}]

    def test_metrics_with_end_before_start_is_one_error_line(self, cli: Cli) -> None:
        assert cli("org", "create", "hikari", "--name", "ひかり").returncode == 0

        result = cli(
            "crm", "metrics", "--org", "hikari", "--start", "2026-02-01", "--end", "2026-01-01"
        )

        assert result.returncode == 1
        one_error_line(result)

    def test_stages_prints_the_model_as_json(self, cli: Cli) -> None:
        assert cli("org", "create", "hikari", "--name", "ひかり").returncode == 0

        result = cli("crm", "stages", "--org", "hikari")

        assert result.returncode == 0, result.stderr
        model = json.loads(result.stdout)
        assert model["main_line"][0] == "lead"
        assert "recycle" in model["allowed"]["lead"]
