"""``tsunagu demo --no-serve``: the world is built, printed, and building it again is safe."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.e2e.cli.conftest import TSUNAGU, Cli, cli_env, count, free_port, wait_until_answering
from tsunagu.core.database import make_engine
from tsunagu.core.settings import Settings
from tsunagu.identity.models import Membership, Organization, Person, StaffUser
from tsunagu.web.app import create_app

DEMO_PASSWORD = "tsunagu-demo-2026"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


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


@pytest.fixture
def demo_site(demo_home: Path) -> Iterator[TestClient]:
    """The demo world served in-process (no network), as ``tsunagu demo`` would serve it."""
    app = create_app(Settings(home=demo_home, secret_key="cli-test-secret-key-not-for-production"))
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        yield client
    app.state.engine.dispose()


def sign_in(client: TestClient, path: str, email: str, password: str) -> int:
    """Submit the sign-in form at ``path`` as a browser would; return the status."""
    form = client.get(path)
    token = CSRF_FIELD.search(form.text)
    assert token is not None, "the sign-in form carries a CSRF token"
    data = {"email": email, "password": password, "csrf_token": token.group(1)}
    return client.post(path, data=data).status_code


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
        # 4 roles in 4 organizations, plus the linkage scenario's analyst and privacy officer
        assert count(demo_engine, Membership) == 4 * 4 + 2

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


@pytest.mark.usefixtures("first_run")
class TestDemoSignIn:
    def test_demo_staff_owner_signs_in(self, demo_site: TestClient) -> None:
        status = sign_in(demo_site, "/signin", "owner@hikari-mart.example.jp", DEMO_PASSWORD)

        assert status == 303

    def test_demo_person_signs_in_to_the_portal(self, demo_site: TestClient) -> None:
        status = sign_in(demo_site, "/portal/signin", "hanako.yamada@example.jp", DEMO_PASSWORD)

        assert status == 303

    def test_wrong_password_is_refused(self, demo_site: TestClient) -> None:
        status = sign_in(demo_site, "/signin", "owner@hikari-mart.example.jp", "wrong-password!")

        assert status == 401


@pytest.mark.usefixtures("first_run")
class TestDemoServes:
    def test_demo_prints_the_sign_ins_then_answers(self, demo_cli: Cli, tmp_path: Path) -> None:
        port = free_port()
        out = tmp_path / "demo.out"
        with out.open("wb") as stdout:
            server = subprocess.Popen(
                [str(TSUNAGU), "demo", "--host", "127.0.0.1", "--port", str(port)],
                env=demo_cli.env,
                stdout=stdout,
                stderr=subprocess.DEVNULL,
            )
            try:
                health = wait_until_answering(f"http://127.0.0.1:{port}/healthz", server)
            finally:
                server.terminate()
                server.wait(timeout=20)

        assert health.status_code == 200
        printed = out.read_text()
        assert f"http://127.0.0.1:{port}" in printed
        assert "owner@hikari-mart.example.jp" in printed
