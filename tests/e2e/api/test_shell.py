"""The API shell: problem+json for every kind of bad request, request ids, health checks,
security headers, the access log and the last-resort 500."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.e2e.api.conftest import Tenant
from tsunagu.core.database import make_engine
from tsunagu.core.settings import Settings
from tsunagu.web.app import create_app

PROBLEM_JSON = "application/problem+json"
SMALL_LIMIT = 64


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["title"]
    assert body["detail"]
    assert body["type"].endswith(code.replace("_", "-"))
    assert "Traceback" not in response.text
    return body


@pytest.fixture
def small_client(
    settings: Settings, engine: Engine, session_factory: sessionmaker[Session]
) -> Iterator[TestClient]:
    """A client of an app that accepts bodies of at most ``SMALL_LIMIT`` bytes."""
    small = settings.model_copy(update={"max_body_bytes": SMALL_LIMIT})
    app = create_app(small, engine=engine, session_factory=session_factory, run_migrations=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


class TestMalformedJson:
    def test_malformed_json_is_a_400_problem(self, client: TestClient, tenant: Tenant) -> None:
        response = client.post(
            "/api/v1/api-keys",
            content=b'{"name": "oops",',
            headers={**tenant.headers, "Content-Type": "application/json"},
        )
        assert_problem(response, 400, "malformed_json")


class TestInvalidInput:
    def test_wrong_type_is_a_422_problem_naming_the_field(
        self, client: TestClient, tenant: Tenant
    ) -> None:
        response = client.post("/api/v1/api-keys", json={"name": 42}, headers=tenant.headers)
        body = assert_problem(response, 422, "invalid_input")
        assert body["errors"][0]["loc"] == ["body", "name"]
        assert body["errors"][0]["msg"]

    def test_missing_field_is_a_422_problem(self, client: TestClient, tenant: Tenant) -> None:
        response = client.post("/api/v1/api-keys", json={}, headers=tenant.headers)
        body = assert_problem(response, 422, "invalid_input")
        assert ["body", "name"] in [error["loc"] for error in body["errors"]]

    def test_unknown_field_is_a_422_problem(self, client: TestClient, tenant: Tenant) -> None:
        response = client.post(
            "/api/v1/api-keys", json={"name": "ci", "colour": "red"}, headers=tenant.headers
        )
        body = assert_problem(response, 422, "invalid_input")
        assert body["errors"][0]["loc"] == ["body", "colour"]

    def test_rejected_input_is_not_echoed(self, client: TestClient, tenant: Tenant) -> None:
        secret = "hunter2"
        response = client.post(
            "/api/v1/users",
            json={"email": "a@example.com", "display_name": "A", "password": secret},
            headers=tenant.headers,
        )
        assert_problem(response, 422, "invalid_input")
        assert secret not in response.text

    def test_id_that_is_not_a_uuid_is_a_422_problem(
        self, client: TestClient, tenant: Tenant
    ) -> None:
        response = client.get("/api/v1/users/not-a-uuid", headers=tenant.headers)
        body = assert_problem(response, 422, "invalid_input")
        assert body["errors"][0]["loc"] == ["path", "user_id"]


class TestBodyLimit:
    def test_declared_oversized_body_is_a_413_problem(
        self, small_client: TestClient, tenant: Tenant
    ) -> None:
        response = small_client.post(
            "/api/v1/api-keys", json={"name": "x" * (SMALL_LIMIT * 2)}, headers=tenant.headers
        )
        assert_problem(response, 413, "payload_too_large")

    def test_streamed_oversized_body_without_length_is_a_413_problem(
        self, small_client: TestClient, tenant: Tenant
    ) -> None:
        chunks = iter([b'{"name": "', b"x" * SMALL_LIMIT, b'"}'])
        response = small_client.post(
            "/api/v1/api-keys",
            content=chunks,
            headers={**tenant.headers, "Content-Type": "application/json"},
        )
        assert "content-length" not in response.request.headers
        assert_problem(response, 413, "payload_too_large")

    def test_body_within_the_limit_is_accepted(
        self, small_client: TestClient, tenant: Tenant
    ) -> None:
        response = small_client.post(
            "/api/v1/api-keys", json={"name": "ci"}, headers=tenant.headers
        )
        assert response.status_code == 201


class TestRoutingErrors:
    def test_unknown_api_route_is_a_404_problem(self, client: TestClient) -> None:
        assert_problem(client.get("/api/v1/no-such-thing"), 404, "not_found")

    def test_wrong_method_is_a_405_problem_with_allow(self, client: TestClient) -> None:
        response = client.put("/api/v1/me")
        assert_problem(response, 405, "method_not_allowed")
        assert "GET" in response.headers["allow"]

    def test_unknown_page_is_not_json(self, client: TestClient) -> None:
        response = client.get("/no-such-page")
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")


class TestUnexpectedError:
    @pytest.fixture
    def failing_client(self, app: FastAPI) -> Iterator[TestClient]:
        @app.get("/api/v1/test-failure")
        @app.get("/test-failure")
        def fail() -> None:
            raise RuntimeError("internal detail 7f3a")

        with TestClient(app, raise_server_exceptions=False) as client:
            yield client

    def test_unexpected_error_is_a_500_problem_without_details(
        self, failing_client: TestClient
    ) -> None:
        response = failing_client.get("/api/v1/test-failure")
        body = assert_problem(response, 500, "internal_error")
        assert "7f3a" not in response.text
        assert body["request_id"] == response.headers["x-request-id"]

    def test_unexpected_error_on_a_page_is_an_html_500_without_details(
        self, failing_client: TestClient
    ) -> None:
        response = failing_client.get("/test-failure")
        assert response.status_code == 500
        assert response.headers["content-type"].startswith("text/html")
        assert "7f3a" not in response.text
        assert "Traceback" not in response.text

    def test_unexpected_error_is_logged_with_its_traceback(
        self, failing_client: TestClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.ERROR, logger="tsunagu.web")
        response = failing_client.get("/api/v1/test-failure")
        [record] = [r for r in caplog.records if r.name == "tsunagu.web"]
        assert record.exc_info is not None
        assert "7f3a" in str(record.exc_info[1])
        assert response.headers["x-request-id"]


class TestRequestId:
    def test_sane_incoming_request_id_is_echoed(self, client: TestClient) -> None:
        response = client.get("/healthz", headers={"X-Request-ID": "req-2026.11:abc"})
        assert response.headers["x-request-id"] == "req-2026.11:abc"

    def test_request_id_is_generated_when_absent(self, client: TestClient) -> None:
        first = client.get("/healthz").headers["x-request-id"]
        second = client.get("/healthz").headers["x-request-id"]
        assert first
        assert first != second

    @pytest.mark.parametrize("bad", ["a" * 300, "<script>", "two words", "-leading-dash"])
    def test_insane_incoming_request_id_is_replaced(self, client: TestClient, bad: str) -> None:
        response = client.get("/healthz", headers={"X-Request-ID": bad})
        assert response.headers["x-request-id"] != bad

    def test_problem_body_carries_the_request_id(self, client: TestClient) -> None:
        response = client.get("/api/v1/me", headers={"X-Request-ID": "trace-me-1"})
        assert response.json()["request_id"] == "trace-me-1"


class TestHealth:
    def test_healthz_answers_ok(self, client: TestClient) -> None:
        response = client.get("/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}

    def test_readyz_answers_ready_when_the_database_answers(self, client: TestClient) -> None:
        response = client.get("/readyz")
        assert response.status_code == 200
        assert response.json() == {"status": "ready"}


class TestReadinessWithoutDatabase:
    def test_readyz_is_a_503_problem_when_the_database_is_unreachable(
        self, settings: Settings
    ) -> None:
        unreachable = make_engine("postgresql+psycopg://tsunagu@127.0.0.1:1/none")
        app = create_app(settings, engine=unreachable, run_migrations=False)
        with TestClient(app, raise_server_exceptions=False) as client:
            response = client.get("/readyz")
        unreachable.dispose()
        assert_problem(response, 503, "database_unreachable")
        assert client.get("/healthz").status_code == 200


class TestSecurityHeaders:
    @pytest.mark.parametrize("path", ["/healthz", "/api/v1/me", "/no-such-page"])
    def test_every_response_carries_the_security_headers(
        self, client: TestClient, path: str
    ) -> None:
        headers = client.get(path).headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"]
        assert "default-src 'self'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]


class TestCaching:
    def test_api_answers_are_not_stored_by_caches(self, client: TestClient) -> None:
        assert client.get("/api/v1/me").headers["cache-control"] == "no-store"


class TestAccessLog:
    def test_one_line_per_request_with_actor_and_without_credentials(
        self, client: TestClient, tenant: Tenant, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.INFO, logger="tsunagu.access")
        response = client.get("/api/v1/me", headers=tenant.headers)
        [record] = [r for r in caplog.records if r.name == "tsunagu.access"]
        fields = record.__dict__
        assert fields["method"] == "GET"
        assert fields["path"] == "/api/v1/me"
        assert fields["status"] == 200
        assert fields["duration_ms"] >= 0
        assert fields["request_id"] == response.headers["x-request-id"]
        assert fields["actor_kind"] == "api_key"
        assert fields["organization_id"] == str(tenant.org.id)
        assert tenant.admin_key not in str(fields)

    def test_control_characters_in_the_path_are_escaped(
        self, client: TestClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.INFO, logger="tsunagu.access")
        client.get("/api/v1/x%0Aforged%20line")
        [record] = [r for r in caplog.records if r.name == "tsunagu.access"]
        assert "\n" not in record.getMessage()
        assert record.__dict__["path"] == "/api/v1/x\\nforged line"


class TestOpenApi:
    def test_openapi_lists_the_identity_endpoints(self, client: TestClient) -> None:
        response = client.get("/api/v1/openapi.json")
        assert response.status_code == 200
        paths = response.json()["paths"]
        assert set(paths["/api/v1/users"]) == {"get", "post"}
        assert set(paths["/api/v1/api-keys/{key_id}"]) == {"get", "delete"}
        for path in ["/api/v1/me", "/api/v1/organization", "/api/v1/users/{user_id}"]:
            assert path in paths

    def test_openapi_declares_bearer_authentication(self, client: TestClient) -> None:
        schemes = client.get("/api/v1/openapi.json").json()["components"]["securitySchemes"]
        assert any(s.get("scheme", "").lower() == "bearer" for s in schemes.values())
