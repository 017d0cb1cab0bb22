"""``tsunagu org create SLUG --name NAME [--kind …]``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.e2e.cli.conftest import Cli, one_error_line
from tsunagu.identity.models import Organization


def stored(engine: Engine, slug: str) -> Organization | None:
    with Session(engine) as session:
        return session.scalar(select(Organization).where(Organization.slug == slug))


class TestOrgCreate:
    def test_creates_the_organization_in_an_empty_home(self, cli: Cli, home_engine: Engine) -> None:
        result = cli("org", "create", "acme", "--name", "Acme 株式会社")

        assert result.returncode == 0, result.stderr
        org = stored(home_engine, "acme")
        assert org is not None
        assert (org.name, org.kind) == ("Acme 株式会社", "company")

    def test_kind_is_stored(self, cli: Cli, home_engine: Engine) -> None:
        result = cli("org", "create", "minato", "--name", "港市", "--kind", "municipality")

        assert result.returncode == 0, result.stderr
        org = stored(home_engine, "minato")
        assert org is not None
        assert org.kind == "municipality"

    def test_duplicate_slug_fails_with_one_line_and_status_1(self, cli: Cli) -> None:
        cli("org", "create", "acme", "--name", "Acme")

        result = cli("org", "create", "acme", "--name", "Acme again")

        assert result.returncode == 1
        assert (
            one_error_line(result) == "error: an organization with the slug 'acme' already exists"
        )

    def test_unknown_kind_is_a_usage_error(self, cli: Cli) -> None:
        result = cli("org", "create", "acme", "--name", "Acme", "--kind", "bank")

        assert result.returncode == 2
        assert "--kind" in one_error_line(result)

    def test_malformed_slug_is_a_usage_error(self, cli: Cli) -> None:
        result = cli("org", "create", "Not A Slug", "--name", "Acme")

        assert result.returncode == 2
        assert "slug" in one_error_line(result)

    def test_missing_name_is_a_usage_error(self, cli: Cli) -> None:
        result = cli("org", "create", "acme")

        assert result.returncode == 2
        assert "--name" in one_error_line(result)
