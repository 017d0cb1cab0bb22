"""Shared fixtures.

Every database test runs twice: on an SQLite file and on a real PostgreSQL server (a
throwaway cluster on 127.0.0.1, or ``TSUNAGU_TEST_POSTGRES_URL``).  The schema comes from
``alembic upgrade head``; each test runs inside a transaction that is rolled back, so the
services' ``commit()`` at the edge only releases a savepoint.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.support.postgres import Cluster, start_cluster
from tsunagu.core.database import make_engine, migrate
from tsunagu.core.settings import Settings
from tsunagu.vault.keystore import close_keystores
from tsunagu.vault.service import Vault
from tsunagu.web.app import create_app

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    url = os.environ.get("TSUNAGU_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    cluster = start_cluster()
    if not isinstance(cluster, Cluster):
        pytest.skip(cluster)
    try:
        yield cluster.url
    finally:
        cluster.stop()


@pytest.fixture(scope="session", params=BACKENDS)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A migrated database of each backend, shared by the session."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "tsunagu.db"
        eng = make_engine(f"sqlite:///{path}")
    else:
        url = request.getfixturevalue("postgres_url")
        eng = make_engine(url)
        with eng.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    conn = engine.connect()
    trans = conn.begin()
    try:
        yield conn
    finally:
        trans.rollback()
        conn.close()


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    return sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work is rolled back after the test."""
    session = session_factory()
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    # the API-key cache is off: tests revoke keys behind the app's back and expect the next
    # request refused; tests/e2e/api/test_api_key_cache.py covers the cache itself
    yield Settings(
        home=tmp_path / "home",
        secret_key="test-secret-key-not-for-production",
        api_key_cache_seconds=0,
        # the clean-room test worlds are small (groups of 3); the platform's floor of 10 has
        # its own test in tests/integration/cleanroom/test_ask.py
        cleanroom_min_group_floor=1,
    )
    close_keystores()  # each test's home has its own key store


@pytest.fixture
def vault(settings: Settings) -> Vault:
    """The vault's key store (in the test's home) and the ledger's pseudonym key."""
    return Vault.from_settings(settings)


@pytest.fixture
def app(settings: Settings, engine: Engine, session_factory: sessionmaker[Session]) -> FastAPI:
    return create_app(
        settings, engine=engine, session_factory=session_factory, run_migrations=False
    )


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def pytest_report_header(config: Any) -> str:
    return "tsunagu: database tests run on SQLite and on a throwaway PostgreSQL cluster"
