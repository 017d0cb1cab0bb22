"""``tsunagu serve`` against an empty ``TSUNAGU_HOME``: it migrates, then answers."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
from sqlalchemy.engine import Engine

from tests.e2e.cli.conftest import TSUNAGU, Cli, free_port, wait_until_answering
from tsunagu.core.database import current_revision


class TestServe:
    def test_empty_home_is_migrated_and_served(
        self, cli: Cli, tmp_path: Path, home_engine: Engine
    ) -> None:
        port = free_port()
        with (tmp_path / "serve.log").open("wb") as log:
            server = subprocess.Popen(
                [str(TSUNAGU), "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=cli.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                health = wait_until_answering(f"http://127.0.0.1:{port}/healthz", server)
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
            finally:
                server.terminate()
                server.wait(timeout=20)

        assert health.status_code == 200
        assert ready.status_code == 200
        assert current_revision(home_engine) is not None

    def test_port_out_of_range_is_a_usage_error(self, cli: Cli) -> None:
        result = cli("serve", "--port", "70000")

        assert result.returncode == 2
        assert "--port" in result.stderr
