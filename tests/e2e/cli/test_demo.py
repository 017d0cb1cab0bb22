"""``tsunagu demo --no-serve``: the world is built, printed, and building it again is safe."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.e2e.cli.conftest import Cli, cli_env, count
from tsunagu.core.database import make_engine
from tsunagu.identity.models import Membership, Organization, Person, StaffUser


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo") / "home"


@pytest.fixture(scope="module")
def demo_cli(demo_home: Path) -> Cli:
    return Cli(cli_env(demo_home))


@pytest.fixture(scope="module")
def first_run(demo_cli: Cli) -> subprocess.CompletedProcess[str]:
    """The demo built once for the whole module (it takes a few seconds)."""
    result = demo_cli("demo", "--no-serve")
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def demo_engine(demo_home: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{demo_home / 'tsunagu.db'}")
    yield engine
    engine.dispose()


def counts(engine: Engine) -> dict[str, int]:
    return {
        model.__tablename__: count(engine, model)
        for model in (Organization, StaffUser, Membership, Person)
    }


@pytest.mark.usefixtures("first_run")
class TestDemo:
    def test_builds_four_organizations_and_ten_thousand_persons(self, demo_engine: Engine) -> None:
        built = counts(demo_engine)

        assert built["organizations"] == 4
        assert built["persons"] >= 10_000

    def test_every_organization_has_staff_in_every_role(self, demo_engine: Engine) -> None:
        assert count(demo_engine, Membership) == 4 * 4

    def test_prints_the_url_and_the_sign_ins(
        self, first_run: subprocess.CompletedProcess[str]
    ) -> None:
        out = first_run.stdout

        assert "http://127.0.0.1:8000" in out
        assert "tsunagu-demo-2026" in out
        assert "owner@hikari-mart.example.jp" in out
        assert "hanako.yamada@example.jp" in out

    def test_running_again_changes_no_counts(
        self,
        demo_cli: Cli,
        demo_engine: Engine,
    ) -> None:
        before = counts(demo_engine)

        again = demo_cli("demo", "--no-serve")

        assert again.returncode == 0, again.stderr
        assert counts(demo_engine) == before
        assert "(0 new)" in again.stdout
