"""``tsunagu ledger verify``: recomputes the stored log and names the first bad index."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.engine import Engine

from tests.e2e.cli.conftest import Cli, one_error_line
from tests.e2e.ledger_cli.conftest import LOG, append_and_publish, tamper


class TestLedgerVerify:
    def test_intact_log_verifies(self, cli: Cli, home_engine: Engine) -> None:
        append_and_publish(home_engine, 20)

        result = cli("ledger", "verify")

        assert result.returncode == 0, result.stderr
        assert "size 20, 1 checkpoint checked" in result.stdout
        assert result.stdout.strip().splitlines()[-1] == "OK"

    def test_json_report_of_an_intact_log(self, cli: Cli, home_engine: Engine) -> None:
        append_and_publish(home_engine, 5)
        append_and_publish(home_engine, 3)

        result = cli("ledger", "verify", "--json")

        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        assert report["ok"] is True
        assert (report["size"], report["checkpoints"]) == (8, 2)

    def test_empty_home_verifies_as_an_empty_log(self, cli: Cli) -> None:
        result = cli("ledger", "verify")

        assert result.returncode == 0, result.stderr
        assert "size 0" in result.stdout

    def test_edited_entry_is_named(self, cli: Cli, home: Path, home_engine: Engine) -> None:
        append_and_publish(home_engine, 20)
        tamper(home, ("UPDATE ledger_entries SET leaf_input = ? WHERE seq = 13", (b"{}",)))

        result = cli("ledger", "verify")

        assert result.returncode == 1
        assert one_error_line(result).startswith("error: first bad index 13: ")

    def test_deleted_entry_is_named(self, cli: Cli, home: Path, home_engine: Engine) -> None:
        append_and_publish(home_engine, 20)
        tamper(home, ("DELETE FROM ledger_entries WHERE seq = 7", ()))

        result = cli("ledger", "verify")

        assert result.returncode == 1
        assert one_error_line(result).startswith("error: first bad index 7: ")

    def test_json_report_names_the_bad_index(
        self, cli: Cli, home: Path, home_engine: Engine
    ) -> None:
        append_and_publish(home_engine, 20)
        tamper(home, ("UPDATE ledger_entries SET leaf_input = ? WHERE seq = 4", (b"{}",)))

        result = cli("ledger", "verify", "--json")

        assert result.returncode == 1
        report = json.loads(result.stdout)
        assert report["ok"] is False
        assert report["first_bad_index"] == 4
        assert report["problems"]

    def test_checkpoint_under_another_key_is_refused(self, cli: Cli, home_engine: Engine) -> None:
        append_and_publish(home_engine, 3)
        other = {"TSUNAGU_LEDGER_SIGNING_KEY": "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="}

        result = cli("ledger", "verify", extra_env=other)

        assert result.returncode == 1
        assert "not signed by the log's key" in one_error_line(result)


class TestLedgerKey:
    def test_key_is_the_logs_verifier_key(self, cli: Cli) -> None:
        result = cli("ledger", "key")

        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == LOG.vkey()
