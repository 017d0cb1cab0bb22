"""``tsunagu apikey create``: the key alone on the last line of stdout, and it works."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.e2e.cli.conftest import Cli, one_error_line
from tsunagu.core.settings import Settings
from tsunagu.web.app import create_app


@pytest.fixture
def org(cli: Cli) -> str:
    result = cli("org", "create", "acme", "--name", "Acme")
    assert result.returncode == 0, result.stderr
    return "acme"


@pytest.fixture
def api(home: Path) -> Iterator[TestClient]:
    """The API served from the same home the CLI wrote to."""
    app = create_app(Settings(home=home, secret_key="cli-test-secret-key-not-for-production"))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    app.state.engine.dispose()


class TestApiKeyCreate:
    def test_key_is_alone_on_the_last_line_of_stdout(self, cli: Cli, org: str) -> None:
        result = cli("apikey", "create", "--org", org, "--name", "ci")

        assert result.returncode == 0, result.stderr
        last = result.stdout.splitlines()[-1]
        assert last.startswith("tsk_")
        assert last == last.strip()
        assert " " not in last

    def test_key_authenticates_as_bearer(self, cli: Cli, org: str, api: TestClient) -> None:
        key = cli("apikey", "create", "--org", org, "--name", "ci", "--role", "admin")
        plain = key.stdout.splitlines()[-1]

        response = api.get("/api/v1/me", headers={"Authorization": f"Bearer {plain}"})

        assert response.status_code == 200
        assert response.json()["role"] == "admin"

    def test_a_made_up_key_is_refused(self, cli: Cli, org: str, api: TestClient) -> None:
        cli("apikey", "create", "--org", org, "--name", "ci")

        response = api.get("/api/v1/me", headers={"Authorization": "Bearer tsk_made-up"})

        assert response.status_code == 401

    def test_each_call_makes_a_new_key(self, cli: Cli, org: str) -> None:
        first = cli("apikey", "create", "--org", org, "--name", "ci").stdout.splitlines()[-1]
        second = cli("apikey", "create", "--org", org, "--name", "ci").stdout.splitlines()[-1]

        assert first != second

    def test_owner_role_is_a_usage_error(self, cli: Cli, org: str) -> None:
        result = cli("apikey", "create", "--org", org, "--name", "ci", "--role", "owner")

        assert result.returncode == 2
        assert result.stdout == ""
        assert "--role" in one_error_line(result)

    def test_unknown_organization_prints_no_key(self, cli: Cli) -> None:
        result = cli("apikey", "create", "--org", "nowhere", "--name", "ci")

        assert result.returncode == 1
        assert result.stdout == ""
        assert one_error_line(result) == "error: no organization with the slug 'nowhere'"
