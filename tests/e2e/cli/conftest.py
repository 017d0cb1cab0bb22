"""Fixtures of the CLI tests: the installed ``tsunagu`` console script, run as a subprocess
with its own ``TSUNAGU_HOME`` (or ``TSUNAGU_DATABASE_URL``), and a look into its database.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tsunagu.core.database import make_engine

TSUNAGU = Path(sys.executable).parent / "tsunagu"
#: a generous bound so that a hung command fails the test instead of the whole run
COMMAND_TIMEOUT_S = 300


@dataclass(frozen=True)
class Cli:
    """Runs ``tsunagu`` with a fixed environment."""

    env: dict[str, str]

    def __call__(
        self, *args: str, stdin: str | None = None, extra_env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(TSUNAGU), *args],
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            env={**self.env, **(extra_env or {})},
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )


def cli_env(home: Path, database_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TSUNAGU_")}
    env["TSUNAGU_HOME"] = str(home)
    env["TSUNAGU_SECRET_KEY"] = "cli-test-secret-key-not-for-production"
    if database_url is not None:
        env["TSUNAGU_DATABASE_URL"] = database_url
    return env


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def cli(home: Path) -> Cli:
    if not TSUNAGU.exists():
        pytest.fail(f"the console script {TSUNAGU} is missing: run `make` to install the package")
    return Cli(cli_env(home))


@pytest.fixture
def home_engine(home: Path) -> Iterator[Engine]:
    """An engine on the SQLite file the CLI writes under ``home``."""
    engine = make_engine(f"sqlite:///{home / 'tsunagu.db'}")
    yield engine
    engine.dispose()


def count(engine: Engine, model: type) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single ``error: …`` line of a failed command (asserting there is exactly one)."""
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def last_line(text: str) -> str:
    lines: Sequence[str] = text.strip().splitlines()
    return lines[-1] if lines else ""


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
