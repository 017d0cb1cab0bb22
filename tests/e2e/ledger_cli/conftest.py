"""Fixtures of the ledger CLI tests: a home whose log key is known, a ledger filled through
``ledger.service`` on that home's SQLite file, tampering with the file as an attacker with
database access would, and ``tsunagu serve`` running on a free port.
"""

from __future__ import annotations

import base64
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.e2e.cli.conftest import TSUNAGU, Cli, cli_env, free_port, wait_until_answering
from tsunagu.core.database import make_engine, migrate
from tsunagu.ledger import merkle, service
from tsunagu.ledger.entry import Entry
from tsunagu.ledger.models import node_key
from tsunagu.ledger.note import Signer

ORIGIN = "localhost/tsunagu/ledger"
SEED = bytes(range(32))
LOG = Signer.from_seed(ORIGIN, SEED)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def cli(home: Path) -> Cli:
    if not TSUNAGU.exists():
        pytest.fail(f"the console script {TSUNAGU} is missing: run `make` to install the package")
    env = cli_env(home)
    env["TSUNAGU_LEDGER_SIGNING_KEY"] = base64.b64encode(SEED).decode()
    return Cli(env)


@pytest.fixture
def home_engine(home: Path) -> Iterator[Engine]:
    """An engine on the SQLite file the CLI uses, migrated."""
    home.mkdir(parents=True, exist_ok=True)
    engine = make_engine(f"sqlite:///{home / 'tsunagu.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


def append_and_publish(engine: Engine, count: int) -> None:
    """Append ``count`` entries and publish a checkpoint, committed."""
    with Session(engine) as session:
        start = service.tree_size(session)
        service.append(
            session,
            [
                Entry(kind="access.allowed", org="acme", actor=f"api_key:{start + i}")
                for i in range(count)
            ],
        )
        service.publish_checkpoint(session, LOG)
        session.commit()


def tamper(home: Path, *statements: tuple[str, tuple[object, ...]]) -> None:
    """Drop the append-only triggers and run ``statements`` on the raw SQLite file."""
    with sqlite3.connect(home / "tsunagu.db") as raw:
        for table in (
            "ledger_entries",
            "ledger_nodes",
            "ledger_subject_sets",
            "ledger_subject_keys",
        ):
            for action in ("update", "delete"):
                raw.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
        for sql, params in statements:
            raw.execute(sql, params)
    raw.close()


def rewrite_entry(home: Path, seq: int, data: bytes) -> None:
    """Replace entry ``seq`` and recompute every stored subtree hash to match: a rewritten
    history that is internally consistent, as a careful attacker would leave it."""
    with sqlite3.connect(home / "tsunagu.db") as raw:
        leaves = [
            bytes(h) for (h,) in raw.execute("SELECT leaf_hash FROM ledger_entries ORDER BY seq")
        ]
    raw.close()
    leaves[seq] = merkle.leaf_hash(data)
    tree = merkle.MemoryTree()
    for leaf in leaves:
        tree.append(leaf)
    nodes = [
        (node_key(level, idx), h)
        for level in range(1, len(tree.levels))
        for idx, h in enumerate(tree.levels[level])
    ]
    statements: list[tuple[str, tuple[object, ...]]] = [
        (
            "UPDATE ledger_entries SET leaf_input = ?, leaf_hash = ? WHERE seq = ?",
            (data, leaves[seq], seq),
        ),
        ("DELETE FROM ledger_nodes", ()),
    ]
    statements += [("INSERT INTO ledger_nodes (key, hash) VALUES (?, ?)", n) for n in nodes]
    tamper(home, *statements)


@dataclass(frozen=True)
class Server:
    url: str
    admin_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}


@pytest.fixture
def server(cli: Cli, home_engine: Engine, tmp_path: Path) -> Iterator[Server]:
    """``tsunagu serve`` on the test's home, with an organization and an admin API key."""
    assert cli("org", "create", "acme", "--name", "Acme").returncode == 0
    created = cli("apikey", "create", "--org", "acme", "--name", "witness", "--role", "admin")
    assert created.returncode == 0, created.stderr
    admin_key = created.stdout.strip().splitlines()[-1]
    port = free_port()
    env = {**cli.env, "TSUNAGU_LOG_JSON": "1"}
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [str(TSUNAGU), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_answering(f"{url}/healthz", process)
            yield Server(url, admin_key)
        finally:
            process.terminate()
            process.wait(timeout=20)


def register_witness(server: Server, vkey: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/v1/ledger/witnesses",
        json={"vkey": vkey},
        headers=server.headers,
        timeout=10,
    )
