"""``tsunagu serve`` against an empty ``TSUNAGU_HOME``: it migrates, then answers."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine

from tests.e2e.cli.conftest import TSUNAGU, Cli
from tsunagu.core.database import current_revision

#: how long the server may take to come up before the test gives up
STARTUP_DEADLINE_S = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_answering(url: str, server: subprocess.Popen[bytes]) -> httpx.Response:
    deadline = time.monotonic() + STARTUP_DEADLINE_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"tsunagu serve exited with status {server.returncode}")
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail(f"tsunagu serve did not answer {url} within {STARTUP_DEADLINE_S} s")


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
