"""The CLI against PostgreSQL (``TSUNAGU_DATABASE_URL``): an empty database is migrated
and the commands work as on SQLite.

Each test gets a database of its own in the throwaway cluster, so what the CLI commits
never mixes with the rolled-back tests that share the cluster's default database.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, select, text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session

from tests.e2e.cli.conftest import Cli, cli_env, one_error_line
from tsunagu.core.database import make_engine
from tsunagu.identity.api_key_auth import check_api_key
from tsunagu.identity.models import Organization

pytestmark = pytest.mark.postgresql


@pytest.fixture
def database_url(postgres_url: str) -> Iterator[str]:
    """A fresh, empty database in the cluster, dropped afterwards."""
    name = f"tsunagu_cli_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except ProgrammingError as exc:
        admin.dispose()
        pytest.skip(f"the PostgreSQL role cannot create a database for the CLI tests: {exc.orig}")
    try:
        yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_cli(tmp_path: Path, database_url: str) -> Cli:
    return Cli(cli_env(tmp_path / "home", database_url))


class TestCliOnPostgresql:
    def test_org_and_api_key_are_created_in_an_empty_database(
        self, pg_cli: Cli, database_url: str, tmp_path: Path
    ) -> None:
        created = pg_cli("org", "create", "acme", "--name", "Acme", "--kind", "hospital")
        key = pg_cli("apikey", "create", "--org", "acme", "--name", "ci", "--role", "viewer")

        assert created.returncode == 0, created.stderr
        assert key.returncode == 0, key.stderr
        engine = make_engine(database_url)
        try:
            with Session(engine) as session:
                org = session.scalar(select(Organization).where(Organization.slug == "acme"))
                actor = check_api_key(session, key.stdout.splitlines()[-1]).actor
        finally:
            engine.dispose()
        assert org is not None
        assert org.kind == "hospital"
        assert (actor.organization_id, actor.role) == (org.id, "viewer")
        assert not (tmp_path / "home" / "tsunagu.db").exists()

    def test_duplicate_slug_is_one_line(self, pg_cli: Cli) -> None:
        pg_cli("org", "create", "acme", "--name", "Acme")

        result = pg_cli("org", "create", "acme", "--name", "Acme")

        assert result.returncode == 1
        assert (
            one_error_line(result) == "error: an organization with the slug 'acme' already exists"
        )
