"""``tsunagu ledger verify-remote``: a running instance checked through its HTTP API alone."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.engine import Engine

from tests.e2e.cli.conftest import Cli, free_port, one_error_line
from tests.e2e.ledger_cli.conftest import LOG, Server, append_and_publish, rewrite_entry
from tsunagu.ledger.note import Signer


class TestVerifyRemote:
    def test_running_instance_verifies(self, cli: Cli, home_engine: Engine, server: Server) -> None:
        append_and_publish(home_engine, 25)

        result = cli(
            "ledger",
            "verify-remote",
            server.url,
            "--key",
            server.admin_key,
            "--log-key",
            LOG.vkey(),
        )

        assert result.returncode == 0, result.stderr
        assert "size 25" in result.stdout
        assert result.stdout.strip().splitlines()[-1] == "OK"

    def test_json_report_of_a_running_instance(
        self, cli: Cli, home_engine: Engine, server: Server
    ) -> None:
        append_and_publish(home_engine, 4)

        result = cli("ledger", "verify-remote", server.url, "--key", server.admin_key, "--json")

        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        assert (report["ok"], report["size"]) == (True, 4)

    def test_entries_that_miss_the_signed_root_fail(
        self, cli: Cli, home: Path, home_engine: Engine, server: Server
    ) -> None:
        append_and_publish(home_engine, 10)
        rewrite_entry(home, 6, b'{"kind":"access.allowed"}')

        result = cli(
            "ledger",
            "verify-remote",
            server.url,
            "--key",
            server.admin_key,
            "--log-key",
            LOG.vkey(),
        )

        assert result.returncode == 1
        assert "do not produce the signed root" in one_error_line(result)

    def test_another_log_key_is_refused(
        self, cli: Cli, home_engine: Engine, server: Server
    ) -> None:
        append_and_publish(home_engine, 2)
        other = Signer.from_seed("localhost/tsunagu/ledger", bytes(32)).vkey()

        result = cli(
            "ledger", "verify-remote", server.url, "--key", server.admin_key, "--log-key", other
        )

        assert result.returncode == 1
        assert "not signed by the log's key" in one_error_line(result)

    def test_entries_without_a_key_are_refused_in_one_line(
        self, cli: Cli, home_engine: Engine, server: Server
    ) -> None:
        append_and_publish(home_engine, 2)

        result = cli("ledger", "verify-remote", server.url, "--log-key", LOG.vkey())

        assert result.returncode == 1
        assert "answered 401" in one_error_line(result)

    def test_unreachable_server_is_one_error_line(self, cli: Cli) -> None:
        result = cli("ledger", "verify-remote", f"http://127.0.0.1:{free_port()}")

        assert result.returncode == 1
        assert "cannot reach" in one_error_line(result)

    def test_non_http_url_is_one_error_line(self, cli: Cli) -> None:
        result = cli("ledger", "verify-remote", "file:///etc/passwd")

        assert result.returncode == 1
        assert "not an http(s) URL" in one_error_line(result)
