"""An acknowledged append survives ``kill -9`` of the server: the request's transaction
commits before the 201 leaves, and SQLite's WAL keeps a committed transaction."""

from __future__ import annotations

import base64
import json
import signal
import subprocess
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.e2e.cli.conftest import TSUNAGU, Cli, free_port, wait_until_answering
from tsunagu.ledger.models import LedgerEntry


def test_acknowledged_statements_survive_kill_9(
    cli: Cli, home_engine: Engine, tmp_path: Path
) -> None:
    assert cli("org", "create", "acme", "--name", "Acme").returncode == 0
    created = cli("apikey", "create", "--org", "acme", "--name", "ops", "--role", "admin")
    key = created.stdout.strip().splitlines()[-1]
    port = free_port()
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [str(TSUNAGU), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=cli.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_answering(f"{url}/healthz", process)
            acknowledged = []
            for n in range(20):
                response = httpx.post(
                    f"{url}/api/v1/ledger/statements",
                    json={"kind": "org.notice", "body": {"version": n}},
                    headers={"Authorization": f"Bearer {key}"},
                    timeout=10,
                )
                assert response.status_code == 201
                acknowledged.append(base64.b64decode(response.json()["leaf_hash"]))
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
    home_engine.dispose()
    with Session(home_engine) as session:
        stored = set(session.scalars(select(LedgerEntry.leaf_hash)))
    assert set(acknowledged) <= stored
    verified = cli("ledger", "verify", "--json")
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["size"] >= 20
